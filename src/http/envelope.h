// The response envelope of SPEC.md §1: {"id", "details", "status", "errors"}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/requests.h"

namespace authgate {

// Fields keep the order of SPEC.md (id, details, status, errors); details keep theirs.
std::string SuccessEnvelope(int64_t id, const nlohmann::ordered_json& details);
std::string ErrorEnvelope(const std::vector<FieldError>& errors);
std::string ErrorEnvelope(MessageCode code, const std::string& field = "");

}  // namespace authgate
