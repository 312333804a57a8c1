#include "core/config.h"

#include "core/argon2_backends.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <set>
#include <toml++/toml.h>

#include "core/argon2_backends.h"
#include "core/ip_address.h"

namespace authgate {
namespace {

// One configurable key: how to set it from a TOML node and from an environment string.
struct KeySpec {
  std::string section;
  std::string key;
  std::function<bool(const toml::node&)> from_toml;  // false: wrong type
  std::function<bool(const std::string&)> from_env;  // false: not parseable
  std::function<bool()> in_range;
  std::string range;  // for error messages
};

bool ParseInteger(const std::string& text, int64_t* out) {
  auto result = std::from_chars(text.data(), text.data() + text.size(), *out);
  return result.ec == std::errc() && result.ptr == text.data() + text.size() && !text.empty();
}

KeySpec IntKey(std::string section, std::string key, int64_t* field, int64_t min, int64_t max) {
  return {section, key,
          [field](const toml::node& node) {
            if (!node.is_integer()) return false;
            *field = node.as_integer()->get();
            return true;
          },
          [field](const std::string& text) { return ParseInteger(text, field); },
          [field, min, max] { return *field >= min && *field <= max; },
          "an integer from " + std::to_string(min) + " to " + std::to_string(max)};
}

KeySpec DoubleKey(std::string section, std::string key, double* field, double min, double max) {
  return {section, key,
          [field](const toml::node& node) {
            if (node.is_integer()) *field = static_cast<double>(node.as_integer()->get());
            else if (node.is_floating_point()) *field = node.as_floating_point()->get();
            else return false;
            return true;
          },
          [field](const std::string& text) {
            char* end = nullptr;
            *field = std::strtod(text.c_str(), &end);
            return !text.empty() && end == text.c_str() + text.size();
          },
          [field, min, max] { return *field >= min && *field <= max; },
          "a number from " + std::to_string(static_cast<int64_t>(min)) + " to " +
              std::to_string(static_cast<int64_t>(max))};
}

KeySpec StringKey(std::string section, std::string key, std::string* field,
                  std::function<bool(const std::string&)> valid, std::string range) {
  return {section, key,
          [field](const toml::node& node) {
            if (!node.is_string()) return false;
            *field = node.as_string()->get();
            return true;
          },
          [field](const std::string& text) {
            *field = text;
            return true;
          },
          [field, valid] { return valid(*field); }, std::move(range)};
}

KeySpec ListKey(std::string section, std::string key, std::vector<std::string>* field,
                std::function<bool(const std::string&)> valid, std::string range) {
  return {section, key,
          [field](const toml::node& node) {
            if (!node.is_array()) return false;
            field->clear();
            for (const toml::node& entry : *node.as_array()) {
              if (!entry.is_string()) return false;
              field->push_back(entry.as_string()->get());
            }
            return true;
          },
          [field](const std::string& text) {
            field->clear();
            size_t start = 0;
            while (start <= text.size()) {
              size_t comma = text.find(',', start);
              if (comma == std::string::npos) comma = text.size();
              std::string item = text.substr(start, comma - start);
              while (!item.empty() && item.front() == ' ') item.erase(item.begin());
              while (!item.empty() && item.back() == ' ') item.pop_back();
              if (!item.empty()) field->push_back(item);
              start = comma + 1;
            }
            return true;
          },
          [field, valid] { return std::all_of(field->begin(), field->end(), valid); },
          std::move(range)};
}

bool NonEmpty(const std::string& value) { return !value.empty(); }
bool AnyString(const std::string&) { return true; }
bool IsHostPort(const std::string& value) {
  std::string host;
  uint16_t port = 0;
  return SplitHostPort(value, &host, &port);
}
bool IsIpAddress(const std::string& value) { return ParseIpAddress(value).has_value(); }

std::vector<KeySpec> Keys(Config& c) {
  constexpr int64_t kDay = 86400;
  return {
      StringKey("server", "listen", &c.server.listen, IsHostPort, "HOST:PORT"),
      StringKey("server", "management_listen", &c.server.management_listen,
                [](const std::string& v) { return v.empty() || IsHostPort(v); },
                "HOST:PORT or \"\" (off)"),
      IntKey("server", "threads", &c.server.threads, 0, 256),
      IntKey("server", "yield_after_us", &c.server.yield_after_us, 0, 1000000),
      IntKey("server", "slice_us", &c.server.slice_us, 0, 100000),
      IntKey("server", "max_body_bytes", &c.server.max_body_bytes, 1, 64 << 20),
      IntKey("server", "hash_workers", &c.server.hash_workers, 0, 256),
      IntKey("server", "hash_queue_max", &c.server.hash_queue_max, 1, 1000000),
      StringKey("server", "tls_cert_file", &c.server.tls_cert_file, AnyString, "a path"),
      StringKey("server", "tls_key_file", &c.server.tls_key_file, AnyString, "a path"),
      StringKey("storage", "url", &c.storage.url, NonEmpty, "a storage URL"),
      IntKey("storage", "timeout_ms", &c.storage.timeout_ms, 100, 60000),
      StringKey("tokens", "alg", &c.tokens.alg,
                [](const std::string& v) { return v == "HS256" || v == "EdDSA"; },
                "HS256 or EdDSA"),
      StringKey("tokens", "issuer", &c.tokens.issuer, NonEmpty, "a non-empty string"),
      StringKey("tokens", "audience", &c.tokens.audience, NonEmpty, "a non-empty string"),
      IntKey("tokens", "access_ttl_s", &c.tokens.access_ttl_s, 1, 30 * kDay),
      IntKey("tokens", "refresh_ttl_s", &c.tokens.refresh_ttl_s, 1, 365 * kDay),
      IntKey("tokens", "refresh_reuse_window_s", &c.tokens.refresh_reuse_window_s, 0, 60),
      IntKey("tokens", "leeway_s", &c.tokens.leeway_s, 0, 300),
      IntKey("otp", "skew_steps", &c.otp.skew_steps, 0, 10),
      IntKey("lockout", "max_failed_attempts", &c.lockout.max_failed_attempts, 1, 1000),
      IntKey("lockout", "duration_s", &c.lockout.duration_s, 1, 365 * kDay),
      IntKey("lockout", "otp_failures_before_hold", &c.lockout.otp_failures_before_hold, 0, 1000),
      IntKey("password", "memory_kib", &c.password.memory_kib, 8, 4 << 20),
      IntKey("password", "iterations", &c.password.iterations, 1, 100),
      IntKey("password", "parallelism", &c.password.parallelism, 1, 1),
      StringKey("password", "implementation", &c.password.implementation,
                [](const std::string& v) { return v == "auto" || ParseArgon2Backend(v); },
                "auto, libsodium, libargon2, libgcrypt or botan"),
      DoubleKey("ratelimit", "per_address_per_s", &c.ratelimit.per_address_per_s, 0, 1e6),
      IntKey("ratelimit", "burst", &c.ratelimit.burst, 1, 1000000),
      ListKey("ratelimit", "trusted_proxies", &c.ratelimit.trusted_proxies, IsIpAddress,
              "a list of IP addresses (no port, brackets, zone id or network)"),
      StringKey("secrets", "master_key_file", &c.secrets.master_key_file, NonEmpty, "a path"),
      StringKey("log", "level", &c.log.level,
                [](const std::string& v) {
                  static const std::set<std::string> kLevels = {"trace", "debug", "info",
                                                                "warn",  "error", "off"};
                  return kLevels.count(v) > 0;
                },
                "one of trace, debug, info, warn, error, off"),
      StringKey("log", "audit_file", &c.log.audit_file, AnyString, "a path"),
  };
}

std::string Upper(std::string text) {
  for (char& ch : text) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return text;
}

}  // namespace

bool SplitHostPort(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host_part = listen.substr(0, colon);
  if (host_part.front() == '[') {
    if (host_part.back() != ']' || host_part.size() < 3) return false;
    host_part = host_part.substr(1, host_part.size() - 2);
  }
  int64_t port_value = 0;
  if (!ParseInteger(listen.substr(colon + 1), &port_value) || port_value < 0 ||
      port_value > 65535) {
    return false;
  }
  *host = host_part;
  *port = static_cast<uint16_t>(port_value);
  return true;
}

Result<Config> ParseConfig(const std::string& toml_text, const Environment& environment) {
  Config config;
  std::vector<KeySpec> keys = Keys(config);
  std::set<std::string> bound;
  if (!toml_text.empty()) {
    toml::table document;
    try {
      document = toml::parse(toml_text);
    } catch (const toml::parse_error& error) {
      return Error{"config: not valid TOML at line " +
                   std::to_string(error.source().begin.line) + ": " +
                   std::string(error.description())};
    }
    for (const auto& [section_name, section_node] : document) {
      std::string section(section_name.str());
      if (!section_node.is_table()) return Error{"config: unknown key '" + section + "'"};
      for (const auto& [key_name, value] : *section_node.as_table()) {
        std::string key(key_name.str());
        auto spec = std::find_if(keys.begin(), keys.end(), [&](const KeySpec& k) {
          return k.section == section && k.key == key;
        });
        if (spec == keys.end()) return Error{"config: unknown key '" + section + "." + key + "'"};
        if (!spec->from_toml(value)) {
          return Error{"config: '" + section + "." + key + "' must be " + spec->range};
        }
        bound.insert(section + "." + key);
      }
    }
  }
  for (KeySpec& spec : keys) {
    std::string name = "AUTHGATE_" + Upper(spec.section) + "_" + Upper(spec.key);
    auto it = environment.find(name);
    if (it != environment.end()) {
      if (!spec.from_env(it->second)) {
        return Error{"config: " + name + " ('" + spec.section + "." + spec.key + "') must be " +
                     spec.range};
      }
      bound.insert(spec.section + "." + spec.key);
    }
    if (!spec.in_range()) {
      return Error{"config: '" + spec.section + "." + spec.key + "' must be " + spec.range};
    }
  }
  config.storage_url_set = bound.count("storage.url") > 0;
  return config;
}

}  // namespace authgate
