// VerifyMemo: one thread's memo of access tokens that passed a full verification.
//
// The shared caches of the verify path (TokenCache, StateCache) are exact but shared: each hit
// takes a lock and touches reference counts, cache lines that move between the cores serving
// requests. AuthService keeps one VerifyMemo per thread (like Envoy's thread-local slots), so a
// repeated verification touches only its own thread's memory.
//
// An entry says "these exact token bytes verified, for this session of this active user, and
// the session had no otp failures". It holds while the StateCache's generation is the one the
// memo was filled under (every invalidation of a session or user, and every change of signing
// keys, bumps it); the caller checks expiry and the otp code on every use. The entry keeps its
// own copy of the user's current otp window, so checking a code takes no lock.
//
// Entries are keyed by the token's TokenDigester digest under the memo's own key: a hit means
// these very bytes verified before, and no token bytes are kept or compared. Only tokens
// that passed a full verification enter it; bounded by `max_entries` (emptied when full). Not
// thread-safe: one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/totp.h"
#include "service/state_cache.h"
#include "service/token_digest.h"

namespace authgate {

class VerifyMemo {
 public:
  struct Entry {
    int64_t user_id = 0;
    std::string username;
    std::string session_id;
    int64_t exp = 0;
    std::shared_ptr<const CachedUser> user;  // for its TOTP secret
    TotpWindow otp_window;                   // this thread's copy
  };

  explicit VerifyMemo(size_t max_entries = 4096) : max_entries_(max_entries) {}

  // Forgets everything when `generation` differs from the one the entries were made under.
  void Sync(uint64_t generation);
  // The entry of `token`, or nullptr. Valid until the next Sync or Put.
  Entry* Find(std::string_view token);
  // Remembers `token` (made under `generation`, read before the verification's lookups; an
  // entry from an older generation is not kept).
  void Put(std::string_view token, Entry entry, uint64_t generation);
  size_t size() const { return entries_.size(); }

 private:
  const size_t max_entries_;
  const TokenDigester digest_;
  uint64_t generation_ = 0;
  std::unordered_map<TokenDigester::Digest, Entry, TokenDigester::Hash> entries_;
};

}  // namespace authgate
