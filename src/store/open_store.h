// Opens the store named by a storage URL (SPEC.md §7): "sqlite:PATH" or
// "postgresql://user:pass@host:port/dbname". The schema is created or migrated on open.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "store/store.h"

namespace authgate {

Result<std::unique_ptr<Store>> OpenStore(const std::string& url);

}  // namespace authgate
