// The credentials of a private request (verify, logout), found in its header: the bearer token
// of the one Authorization field (RFC 6750 §2.1) and the otp field. Only the shape is judged
// here; whether the token and the code are good is the authenticator's question
// (service/authenticator.h). Pure; any thread.
#pragma once

#include <optional>
#include <string_view>

#include "http/message.h"
#include "service/credentials.h"

namespace authgate {

// The token of "Bearer <token>": the scheme is case-insensitive (RFC 7235 §2.1), spaces around
// the token are allowed, nothing else may follow. nullopt for anything else.
std::optional<std::string_view> BearerToken(std::string_view field_value);

// The views point into `request`, which must outlive the credentials.
RequestCredentials ExtractCredentials(const HttpRequest& request);

}  // namespace authgate
