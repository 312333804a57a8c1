// VerifyMemo: VerifyCache's per-thread part (service/verify_cache.h): one thread's memo of
// access tokens that passed a full verification. An entry says "these exact token bytes
// verified, for this session of this active user, and the session had no otp failures"; it
// holds under VerifyCache's generation rule (Sync forgets everything when the generation moves).
// The entry keeps its own copy of the user's current otp window, so checking a code takes no
// lock.
//
// Entries are keyed by the token's TokenDigester digest under the memo's own key: a hit means
// these very bytes verified before, and no token bytes are kept or compared. Bounded by
// `max_entries` (emptied when full). Not thread-safe: one per thread.
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
