#include "service/auth_service.h"

namespace authgate {

AuthService::AuthService(Store& store, const CryptoBox& box, const KeyRing& keys,
                         VerifyCache& cache, Metrics& metrics, AuditLog& audit, const Clock& clock,
                         PasswordVerifier& passwords, ServiceSettings settings)
    : health_(clock),
      context_{store, box, keys, cache, health_, metrics, audit, clock, std::move(settings)},
      authenticator_(context_),
      login_(context_, passwords),
      refresh_(context_),
      logout_(context_, authenticator_),
      sessions_(context_, authenticator_) {}

}  // namespace authgate
