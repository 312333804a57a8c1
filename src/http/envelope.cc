#include "http/envelope.h"

namespace authgate {

using json = nlohmann::ordered_json;

std::string SuccessEnvelope(int64_t id, const json& details) {
  json envelope = {{"id", id}, {"details", details}, {"status", "1"}, {"errors", json::array()}};
  return envelope.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ErrorEnvelope(const std::vector<FieldError>& errors) {
  json list = json::array();
  for (const FieldError& error : errors) {
    list.push_back({{"fieldName", error.field}, {"messageCode", MessageCodeName(error.code)}});
  }
  json envelope = {{"id", 0}, {"details", nullptr}, {"status", "0"}, {"errors", list}};
  return envelope.dump();
}

std::string ErrorEnvelope(MessageCode code, const std::string& field) {
  return ErrorEnvelope(std::vector<FieldError>{{field, code}});
}

}  // namespace authgate
