// The OpenAPI 3 document of the whole API (docs/openapi.json, compiled in), served at
// GET /openapi.json.
#pragma once

#include <string_view>

namespace authgate {

std::string_view OpenApiDocument();

}  // namespace authgate
