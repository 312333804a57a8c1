// VerifyCache: everything the verify path keeps in memory so that a verify needs no store
// round-trip in the common case (DESIGN: the verify hot path). One object with three parts:
//   - tokens: access tokens whose signature and claims verified, by their exact bytes
//     (TokenCache), so the same JWT is not decoded and checked again on every request;
//   - state: users (status, decrypted TOTP secret) and sessions (revocation, recent otp
//     failures) as last read from the store (StateCache);
//   - memo: each thread's own map of tokens that passed a full verification for an active
//     user's session with no otp failures (VerifyMemo), so a repeated verify touches only its
//     thread's memory (like Envoy's thread-local slots).
//
// The generation rule, the one rule that keeps the three parts exact:
//   1. Every invalidation (a user, a session, everything, the signing keys) bumps one
//      generation counter, at once for changes this process makes and through the store's
//      change log (service/change_follower.h) for changes made elsewhere.
//   2. Every fill from a computation (a token verified, a user or session read from the store,
//      a verification memoised) passes the Generation() read *before* that computation began,
//      and is not kept if the generation has moved since: a fill racing an invalidation never
//      leaves a stale entry behind.
//   3. A thread's memo forgets everything as soon as it sees the generation has moved. A memo
//      entry therefore holds only while nothing changed anywhere since the verification that
//      made it; expiry and the otp code are still checked on every use.
//
// Bounded: each part empties itself when full and refills on demand. Thread-safe: every method
// may be called from any thread; the memo methods touch only the calling thread's memo.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "service/state_cache.h"
#include "service/token_cache.h"
#include "service/verify_memo.h"

namespace authgate {

class VerifyCache {
 public:
  struct Limits {
    size_t tokens = 32768;
    size_t state_entries = 200000;  // users and sessions, each
    size_t memo_per_thread = 4096;
  };
  VerifyCache() : VerifyCache(Limits{}) {}
  explicit VerifyCache(Limits limits);

  // Read before a computation whose result may be put here (rule 2). Takes no lock.
  uint64_t Generation() const { return state_.Generation(); }

  std::shared_ptr<const VerifiedToken> FindToken(std::string_view token) const;
  void PutToken(std::string_view token, std::shared_ptr<const VerifiedToken> verified,
                uint64_t generation);

  std::shared_ptr<const CachedUser> FindUser(int64_t user_id) const;
  std::optional<CachedSession> FindSession(const std::string& session_id) const;
  void PutUser(std::shared_ptr<const CachedUser> user, uint64_t generation);
  void PutSession(const std::string& session_id, const CachedSession& session,
                  uint64_t generation);

  // This thread's memo entry for `token`, or nullptr; valid until this thread's next memo
  // call. The entry is the caller's to update (its otp window).
  VerifyMemo::Entry* FindMemo(std::string_view token);
  void PutMemo(std::string_view token, VerifyMemo::Entry entry, uint64_t generation);

  // Drops a user and every cached session of that user.
  void InvalidateUser(int64_t user_id);
  void InvalidateSession(const std::string& session_id);
  // Drops every user and session (a change that cannot be attributed).
  void Clear();
  // The signing keys changed: a key may have left, so every token is verified again.
  void ForgetKeys();

 private:
  VerifyMemo& ThreadMemo();

  const Limits limits_;
  const uint64_t instance_id_;  // names this cache's memo on each thread
  TokenCache tokens_;
  StateCache state_;
};

}  // namespace authgate
