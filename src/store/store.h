// Store: every byte that must survive a restart or be shared between instances.
//
// Each operation is one atomic use-case step (for example "admit a login attempt for this
// username", "rotate this refresh token if and only if it is still current"); callers never
// compose read-modify-write sequences, which is what keeps lockout and rotation exact under
// concurrency and across instances. Operations are thread-safe and report failure as values;
// a failed operation has changed nothing.
//
// Every change that other instances must see (status, credentials, revocations, keys) is also
// appended to a change log that instances poll (ChangesSince) to invalidate their caches.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/codes.h"
#include "core/lockout.h"
#include "core/otp_failures.h"
#include "core/result.h"

namespace authgate {

struct UserRecord {
  int64_t id = 0;
  std::string username;
  std::string password_hash;       // Argon2id PHC string
  std::string totp_secret_sealed;  // CryptoBox-sealed raw secret
  AccountStatus status = AccountStatus::kActive;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int login_otp_failures = 0;  // SPEC §10.3: since the last successful login
  int64_t held_at = 0;         // when the account was held; 0: not held
  bool held() const { return held_at != 0; }
};

struct NewUser {
  std::string username;
  std::string password_hash;
  std::string totp_secret_sealed;
  AccountStatus status = AccountStatus::kActive;
};

struct SessionRecord {
  std::string id;
  int64_t user_id = 0;
  int64_t created_at = 0;
  bool revoked = false;
  OtpFailureTimes otp_failure_times;  // recent wrong request otps (core/otp_failures.h)
};

// A live session as its owner and the operator see it (SPEC §10.4).
struct SessionInfo {
  std::string id;
  int64_t created_at = 0;
  int64_t refreshed_at = 0;  // the last rotation; 0 before the first refresh
  int64_t expires_at = 0;    // when it stops being live: core/session_liveness.h's LiveUntil
  std::string address;       // the login's
  std::string user_agent;    // the login's
};

// What a change of one user, named by username, found.
enum class UserUpdate { kUpdated, kNoSuchUser };

// CompleteLogin: whether the otp step was still unused (nothing is written when it was not).
enum class LoginCompletion { kCompleted, kOtpStepUsed };

struct CompletedLogin {
  LoginCompletion completion = LoginCompletion::kOtpStepUsed;
  int64_t refresh_id = 0;  // kCompleted: the stored refresh token's id (core/refresh_token.h)
};

// The last step of a login whose password was proven (FinishLogin).
struct LoginFinish {
  std::string username;  // as stored: whose §2 failure count this attempt is
  int64_t user_id = 0;
  bool active = true;    // false: a proven otp is answered with the status; no session is made
  LockoutPolicy lockout;
  std::string session_id;  // the session an active account's proven login creates
  std::string refresh_hash;
  int64_t refresh_expires_at = 0;
  int64_t now = 0;
  std::string address;     // SPEC §10.4: the client's address and User-Agent, kept with the
  std::string user_agent;  // session (valid UTF-8, at most kUserAgentMaxBytes: core/user_agent.h)
};

enum class LoginVerdict {
  kCompleted,       // otp proven, its step unused: step consumed, counts cleared, session made
  kProvenInactive,  // otp proven, account not active: counts cleared, nothing else written
  kWrongOtp,        // counted: a §2 failure and one toward the hold
  kOtpStepUsed,     // the step was used before: counted as kWrongOtp
  kHeld,            // held already: the otp was not looked at; a §2 failure counted
};

struct LoginResult {
  LoginVerdict verdict = LoginVerdict::kWrongOtp;
  bool now_held = false;  // this failure reached lockout.otp_failures_before_hold
  AttemptState attempts;  // the §2 state after a failure
  int64_t refresh_id = 0; // kCompleted: the stored refresh token's id (core/refresh_token.h)
};

// Gives the otp step the submitted code proves, or nothing.
using OtpMatcher = std::function<std::optional<int64_t>()>;

// RevokeSession: whether the session existed (it is revoked now either way).
enum class SessionEnd { kEnded, kNoSuchSession };

enum class OtpFailureOutcome {
  kCounted,     // counted; the session lives on
  kRevoked,     // counted, and it reached the limit: the session is now revoked
  kNotCounted,  // the session was already revoked or does not exist
};

enum class RotationOutcome {
  kRotated,        // the new token replaces the old one
  kUnknown,        // no such token (or its session no longer exists)
  kExpired,        // the token's lifetime has passed
  kRevoked,        // its session was revoked
  kReuseDetected,  // the token was already rotated: the whole session is now revoked
  kAccountBlocked, // the account is not active: nothing changed, see `status`
  kReplayed,       // SPEC §10.2: the token rotated last, again within the window: nothing
                   // changed; `rotated_at` is when the first answer was given
};

// A presented refresh token as the store finds it (core/refresh_token.h): by its row id, the
// hash of its secret compared in constant time; or, id 0, a token issued before schema 9, by
// its hash among the rows of that time.
struct RefreshKey {
  int64_t id = 0;
  std::string hash;
};

struct RotationResult {
  RotationOutcome outcome = RotationOutcome::kUnknown;
  std::string session_id;
  int64_t user_id = 0;
  AccountStatus status = AccountStatus::kActive;
  int64_t rotated_at = 0;  // kRotated: now; kReplayed: the first rotation's time
  int64_t next_id = 0;     // kRotated, kReplayed: the successor's id (0: a token issued before
                           // schema 9, which is its bare secret)
};

struct SigningKeyRecord {
  std::string kid;
  std::string alg;
  std::string secret_sealed;  // CryptoBox-sealed key material
  int64_t created_at = 0;
  int64_t retired_at = 0;     // 0 = current signing key
};

enum class ChangeKind { kUser, kSession, kKeys };

struct Change {
  int64_t seq = 0;
  ChangeKind kind = ChangeKind::kUser;
  std::string ref;  // user id, session id, or "" for keys
};

// How concurrent writes were committed together (store/group_commit.h): groups[i] counts the
// commits of at most 2^i operations (and more than 2^(i-1)), i = 0 … 7.
struct CommitGroupStats {
  std::array<uint64_t, 8> groups{};
  uint64_t operations = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // True when the store answers a trivial query.
  virtual bool Ping() = 0;

  // Users. Name-based mutations return false when the user does not exist.
  // One user: CreateUsers with a batch of one.
  Result<int64_t> CreateUser(const NewUser& user, int64_t now) {
    Result<std::vector<int64_t>> ids = CreateUsers({user}, now);
    if (!ids) return ids.failure();
    return ids->front();
  }
  // All or nothing: on error (e.g. a username that exists) no user is created; the message
  // names the offending username and its 0-based index.
  virtual Result<std::vector<int64_t>> CreateUsers(const std::vector<NewUser>& users,
                                                   int64_t now) = 0;
  virtual Result<std::optional<UserRecord>> FindUserByName(const std::string& username) = 0;
  virtual Result<std::optional<UserRecord>> FindUserById(int64_t id) = 0;
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  virtual Result<UserUpdate> SetStatus(const std::string& username, AccountStatus status,
                                 int64_t now) = 0;
  // Replace a credential and revoke every session of the user, atomically. A new TOTP secret
  // also forgets the login otp steps used with the old one.
  virtual Result<UserUpdate> SetPasswordHash(const std::string& username, const std::string& hash,
                                       int64_t now) = 0;
  virtual Result<UserUpdate> SetTotpSecret(const std::string& username, const std::string& sealed,
                                     int64_t now) = 0;
  // Re-hash after a login with changed parameters: no session is affected.
  virtual Status UpdatePasswordHash(int64_t user_id, const std::string& hash) = 0;

  // Lockout (SPEC.md §2), per submitted username, existing or not: reserves one unit of the
  // count (kProceed), or refuses without writing: kLocked while locked, kHeld while the
  // account of that name is held (SPEC §10.3).
  virtual Result<Admission> AdmitLoginAttempt(const std::string& username, int64_t now,
                                              const LockoutPolicy& policy) = 0;
  // Returns the state after the failure (locked when this failure reached the limit).
  virtual Result<AttemptState> RecordLoginFailure(const std::string& username, int64_t now,
                                                  const LockoutPolicy& policy) = 0;
  virtual Result<AttemptState> GetAttemptState(const std::string& username) = 0;
  // The operator's unlock: clears `username`'s failure count and, when an account has that
  // name, its hold and its count of wrong otps.
  virtual Status ClearAttempts(const std::string& username) = 0;

  // The rest of an admitted login whose password was proven, in one transaction under the
  // user's row lock (SPEC §2, §10.3): unless the account is held, `match_otp` (called at most
  // once, inside the transaction) proves a step, which completes the login as LoginVerdict
  // says, or fails, which counts a §2 failure and one wrong otp toward the hold, holding the
  // account at lockout.otp_failures_before_hold. Exact under any concurrency: no more wrong
  // otps than the limit are ever matched for one user between two successful logins.
  virtual Result<LoginResult> FinishLogin(const LoginFinish& login, const OtpMatcher& match_otp) = 0;
  // FinishLogin for an active account whose otp proved `otp_step`, never held (seeding, tests).
  Result<CompletedLogin> CompleteLogin(const std::string& username, int64_t user_id,
                                        int64_t otp_step, const std::string& session_id,
                                        const std::string& refresh_hash,
                                        int64_t refresh_expires_at, int64_t now);

  // Sessions and refresh tokens (stored as hashes only); a session is made by CompleteLogin.
  // Rotates `old` to a new token whose secret hashes to `new_hash` (its id: the result's
  // next_id) iff `old` is current, unexpired, its session is live and the account is active (a
  // rotation also sets its session's refreshed_at and expires_at: SessionInfo). A key whose id
  // exists but whose hash differs is kUnknown, like an id that does not exist.
  // Presenting an already-rotated token revokes the session — unless, with
  // `reuse_window_s` > 0 (SPEC §10.2), it is the token rotated last and its rotation is at most
  // that old: kReplayed, nothing written. One rotation wins however many race.
  virtual Result<RotationResult> RotateRefreshToken(const RefreshKey& old,
                                                    const std::string& new_hash,
                                                    int64_t new_expires_at, int64_t now,
                                                    int64_t reuse_window_s) = 0;
  // Without a replay window (SPEC §2).
  Result<RotationResult> RotateRefreshToken(const RefreshKey& old, const std::string& new_hash,
                                            int64_t new_expires_at, int64_t now) {
    return RotateRefreshToken(old, new_hash, new_expires_at, now, 0);
  }
  virtual Result<std::optional<SessionRecord>> FindSession(const std::string& session_id) = 0;
  virtual Result<SessionEnd> RevokeSession(const std::string& session_id, int64_t now) = 0;
  // SPEC §10.4. A session is live at `now` while it is not revoked and one of its tokens can
  // still authorize: its current refresh token, or the last access token issued for it
  // (`access_ttl_s`: how long an access token verifies after its issue, tokens.access_ttl_s +
  // tokens.leeway_s; core/session_liveness.h decides). ListSessions:
  // the first `limit` of `user_id`'s live sessions, newest first (by creation, then id); cost:
  // that user's sessions (indexed), and `limit` of them in memory. EndSession revokes `session_id`
  // iff it is one of `user_id`'s live sessions (kNoSuchSession otherwise, nothing written: another
  // user's session is never touched). EndAllSessions revokes every live session of `user_id` in one
  // transaction with one change-log entry for the user, and returns how many it ended.
  virtual Result<std::vector<SessionInfo>> ListSessions(int64_t user_id, int64_t now,
                                                        int64_t access_ttl_s, int64_t limit) = 0;
  virtual Result<SessionEnd> EndSession(int64_t user_id, const std::string& session_id, int64_t now,
                                        int64_t access_ttl_s) = 0;
  virtual Result<int64_t> EndAllSessions(int64_t user_id, int64_t now, int64_t access_ttl_s) = 0;
  // Counts a wrong request otp answered at `now` and revokes the session when this failure
  // reaches the limit within the window (AddOtpFailure). Exactly `max_failed_attempts`
  // failures of one session are ever counted, however many race.
  virtual Result<OtpFailureOutcome> RecordOtpFailure(const std::string& session_id,
                                                     const LockoutPolicy& policy,
                                                     int64_t now) = 0;

  // Signing keys. AddSigningKey retires every current key at `now` and adds `key`, atomically.
  virtual Result<std::vector<SigningKeyRecord>> ListSigningKeys() = 0;
  virtual Status AddSigningKey(const SigningKeyRecord& key, int64_t now) = 0;

  // Change log.
  virtual Result<int64_t> LatestChangeSeq() = 0;
  virtual Result<std::vector<Change>> ChangesSince(int64_t seq) = 0;

  // Settings: small values the program keeps about the store itself (the master key's check
  // value). GetSetting: nothing when `name` has no value. PutSettingIfAbsent stores `value`
  // unless `name` has a value already, and returns the value `name` has now: of two processes
  // writing first, both learn the one value that won.
  virtual Result<std::optional<std::string>> GetSetting(const std::string& name) = 0;
  virtual Result<std::string> PutSettingIfAbsent(const std::string& name,
                                                 const std::string& value) = 0;

  // Deletes what can no longer matter: old otp steps, old changes, lockout rows that no longer
  // count (core's Forgotten() under `lockout`), and refresh tokens once both they and the access
  // token issued with them (`access_ttl_s` after their creation, the leeway included) have
  // expired; a session goes with its current token, so the sessions table holds only sessions
  // with a token that can still work. Cost: what it deletes (indexed).
  virtual Status Prune(int64_t now, int64_t access_ttl_s, const LockoutPolicy& lockout) = 0;

  // The write probe's commit (service/write_probe.h): in one write transaction, `instance_id`'s
  // one row is set to `now` (inserted the first time), and the rows of instances that have not
  // written since `now - kHeartbeatRetentionS` (stopped long ago) are deleted. It fails when
  // writes fail (a full disk, a read-only database), even while reads answer.
  virtual Status Heartbeat(const std::string& instance_id, int64_t now) = 0;

  // Where the store commits concurrent writes together: how (for /metrics); else nothing.
  virtual std::optional<CommitGroupStats> CommitGroups() const { return std::nullopt; }
};

// ListSessions' `limit` for every live session (the operator's `authgate user sessions`).
inline constexpr int64_t kEverySession = std::numeric_limits<int64_t>::max();

// How long a heartbeat row outlives its instance's last write.
inline constexpr int64_t kHeartbeatRetentionS = 86400;

}  // namespace authgate
