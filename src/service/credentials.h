// RequestCredentials: what a private request (verify, logout) presents, as the HTTP layer found
// it in the request's header (http/bearer_extractor.h). The authenticator decides every answer
// from it; nothing here has been checked yet but the shape of the Authorization field.
#pragma once

#include <cstddef>
#include <string_view>

namespace authgate {

struct RequestCredentials {
  enum class TokenPresence {
    kMissing,    // no Authorization field: the token is required
    kMalformed,  // more than one Authorization field, or not exactly one Bearer token
    kBearer,     // `token` holds the one bearer token
  };
  TokenPresence presence = TokenPresence::kMissing;
  std::string_view token;  // a view into the caller's request; empty unless kBearer
  // The first otp field and how many came: a field sent more than once is refused.
  std::string_view otp;
  size_t otp_count = 0;
};

}  // namespace authgate
