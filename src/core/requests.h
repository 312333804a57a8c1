// Parsing and validation of the public endpoints' request bodies (SPEC.md §2): content type,
// Invalid_Json, and one Required / Invalid_Value error per field in the field order of the SPEC.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/codes.h"

namespace authgate {

// application/json or any application/*+json, with or without parameters (case-insensitive).
bool IsJsonContentType(std::string_view content_type);

struct FieldError {
  std::string field;  // "" when no single field is at fault
  MessageCode code;
};

struct LoginRequest {
  std::string username;
  std::string password;
  std::string otp;
};

struct RefreshRequest {
  std::string refresh_token;
};

// Each returns the request, or the errors to answer with (never both).
struct ParsedLogin {
  LoginRequest request;
  std::vector<FieldError> errors;
};
struct ParsedRefresh {
  RefreshRequest request;
  std::vector<FieldError> errors;
};

ParsedLogin ParseLoginBody(std::string_view body);
ParsedRefresh ParseRefreshBody(std::string_view body);

}  // namespace authgate
