#include "fake_store.h"

#include <algorithm>

#include "core/refresh_rotation.h"
#include "core/session_liveness.h"

namespace authgate {
namespace {

Error Unreachable() { return Error::Unavailable("fake store: unreachable"); }
// What SQLite says of a full disk, as the store reports it.
Error Unwritable() { return Error::Unavailable("fake store: database or disk is full"); }

}  // namespace

bool FakeStore::Enter() {
  const uint64_t call = calls_.fetch_add(1) + 1;
  return !failing_.load() && call <= fail_after_.load();
}

std::optional<Error> FakeStore::EnterWrite() {
  if (!Enter()) return Unreachable();
  if (writes_failing_.load()) return Unwritable();
  return std::nullopt;
}

UserRecord* FakeStore::UserNamed(const std::string& username) {
  for (auto& [id, user] : users_) {
    if (user.username == username) return &user;
  }
  return nullptr;
}

void FakeStore::AppendChange(ChangeKind kind, std::string ref) {
  const int64_t seq = changes_.empty() ? 1 : changes_.back().seq + 1;
  changes_.push_back({seq, kind, std::move(ref)});
}

void FakeStore::RevokeLocked(const std::string& session_id) {
  sessions_[session_id].revoked = true;
  AppendChange(ChangeKind::kSession, session_id);
}

std::optional<SessionInfo> FakeStore::LiveLocked(const SessionRecord& session, int64_t now,
                                                 int64_t access_ttl_s) {
  SessionInfo info = session_info_[session.id];
  info.expires_at =
      SessionLiveUntil({info.created_at, info.refreshed_at, info.expires_at}, access_ttl_s);
  if (session.revoked || info.expires_at <= now) return std::nullopt;
  return info;
}

bool FakeStore::Ping() { return Enter(); }

Result<std::vector<int64_t>> FakeStore::CreateUsers(const std::vector<NewUser>& users,
                                                    int64_t now) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const NewUser& user : users) {
    if (UserNamed(user.username) != nullptr) return Error{"user exists: " + user.username};
  }
  std::vector<int64_t> ids;
  for (const NewUser& user : users) {
    const int64_t id = next_user_id_++;
    users_[id] = {id, user.username, user.password_hash, user.totp_secret_sealed, user.status,
                  now, now};
    ids.push_back(id);
  }
  return ids;
}

Result<std::optional<UserRecord>> FakeStore::FindUserByName(const std::string& username) {
  if (!Enter()) return Unreachable();
  std::lock_guard<std::mutex> lock(mutex_);
  const UserRecord* user = UserNamed(username);
  if (user == nullptr) return std::optional<UserRecord>();
  return std::optional<UserRecord>(*user);
}

Result<std::optional<UserRecord>> FakeStore::FindUserById(int64_t id) {
  if (!Enter()) return Unreachable();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = users_.find(id);
  if (it == users_.end()) return std::optional<UserRecord>();
  return std::optional<UserRecord>(it->second);
}

Result<std::vector<UserRecord>> FakeStore::ListUsers() {
  if (!Enter()) return Unreachable();
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<UserRecord> users;
  for (const auto& [id, user] : users_) users.push_back(user);
  return users;
}

Result<UserUpdate> FakeStore::SetStatus(const std::string& username, AccountStatus status,
                                  int64_t now) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  UserRecord* user = UserNamed(username);
  if (user == nullptr) return UserUpdate::kNoSuchUser;
  user->status = status;
  user->updated_at = now;
  AppendChange(ChangeKind::kUser, std::to_string(user->id));
  return UserUpdate::kUpdated;
}

Result<UserUpdate> FakeStore::ReplaceCredential(const std::string& username,
                                          std::string UserRecord::*field,
                                          const std::string& value, int64_t now) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  UserRecord* user = UserNamed(username);
  if (user == nullptr) return UserUpdate::kNoSuchUser;
  user->*field = value;
  user->updated_at = now;
  for (auto& [id, session] : sessions_) {
    if (session.user_id == user->id) session.revoked = true;
  }
  AppendChange(ChangeKind::kUser, std::to_string(user->id));
  return UserUpdate::kUpdated;
}

Result<UserUpdate> FakeStore::SetPasswordHash(const std::string& username, const std::string& hash,
                                        int64_t now) {
  return ReplaceCredential(username, &UserRecord::password_hash, hash, now);
}

Result<UserUpdate> FakeStore::SetTotpSecret(const std::string& username, const std::string& sealed,
                                      int64_t now) {
  return ReplaceCredential(username, &UserRecord::totp_secret_sealed, sealed, now);
}

Status FakeStore::UpdatePasswordHash(int64_t user_id, const std::string& hash) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = users_.find(user_id);
  if (it != users_.end()) it->second.password_hash = hash;
  return Status::Ok();
}

Result<Admission> FakeStore::AdmitLoginAttempt(const std::string& username, int64_t now,
                                               const LockoutPolicy& policy) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  if (const UserRecord* user = UserNamed(username); user && user->held()) return Admission::kHeld;
  AdmissionResult result = AdmitAttempt(attempts_[username], now, policy);
  attempts_[username] = result.next;
  return result.admission;
}

Result<AttemptState> FakeStore::RecordLoginFailure(const std::string& username, int64_t now,
                                                   const LockoutPolicy& policy) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  AttemptState& state = attempts_[username];
  state = AfterFailure(state, now, policy);
  return state;
}

Result<AttemptState> FakeStore::GetAttemptState(const std::string& username) {
  if (!Enter()) return Unreachable();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = attempts_.find(username);
  return it == attempts_.end() ? AttemptState{} : it->second;
}

Status FakeStore::ClearAttempts(const std::string& username) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  attempts_.erase(username);
  if (UserRecord* user = UserNamed(username)) {
    user->login_otp_failures = 0;
    user->held_at = 0;
  }
  return Status::Ok();
}

Result<LoginResult> FakeStore::FinishLogin(const LoginFinish& login, const OtpMatcher& match_otp) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  UserRecord& user = users_.at(login.user_id);
  LoginResult result;
  const std::optional<int64_t> step = user.held() ? std::nullopt : match_otp();
  if (step && (!login.active || used_steps_.insert({login.user_id, *step}).second)) {
    attempts_.erase(login.username);
    user.login_otp_failures = 0;
    if (!login.active) {
      result.verdict = LoginVerdict::kProvenInactive;
      return result;
    }
    sessions_[login.session_id] = {login.session_id, login.user_id, login.now, false, {}};
    session_info_[login.session_id] = {login.session_id, login.now, 0, login.refresh_expires_at,
                                       login.address, login.user_agent};
    result.refresh_id = next_refresh_id_++;
    refresh_tokens_[result.refresh_id] = {login.refresh_hash, login.session_id,
                                          login.refresh_expires_at};
    result.verdict = LoginVerdict::kCompleted;
    return result;
  }
  result.verdict = user.held() ? LoginVerdict::kHeld
                   : step      ? LoginVerdict::kOtpStepUsed
                               : LoginVerdict::kWrongOtp;
  CountLoginFailure(login, user, result);
  return result;
}

void FakeStore::CountLoginFailure(const LoginFinish& login, UserRecord& user,
                                  LoginResult& result) {
  AttemptState& state = attempts_[login.username];
  state = AfterFailure(state, login.now, login.lockout);
  result.attempts = state;
  if (user.held()) return;
  const HoldStep hold = AfterOtpFailure(user.login_otp_failures, login.lockout);
  user.login_otp_failures = hold.failures;
  if (hold.held) user.held_at = login.now;
  result.now_held = hold.held;
}

Result<RotationResult> FakeStore::RotateRefreshToken(const RefreshKey& key,
                                                     const std::string& new_hash,
                                                     int64_t new_expires_at, int64_t now,
                                                     int64_t reuse_window_s) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  RotationResult result;
  auto token = refresh_tokens_.find(key.id);
  if (token == refresh_tokens_.end() || token->second.hash != key.hash) return result;  // kUnknown
  RefreshToken& old = token->second;
  const SessionRecord& session = sessions_.at(old.session_id);
  result.session_id = session.id;
  result.user_id = session.user_id;
  result.status = users_.at(session.user_id).status;
  result.rotated_at = old.rotated_at;
  result.next_id = old.next_id;
  auto next = refresh_tokens_.find(old.next_id);
  const RotationFacts facts{old.expires_at, old.rotated, old.rotated_at,
                            next != refresh_tokens_.end() && !next->second.rotated,
                            session.revoked, result.status};
  switch (DecideRotation(facts, now, reuse_window_s)) {
    case RotationVerdict::kRotate:
      result.next_id = next_refresh_id_++;
      old.rotated = true;
      old.rotated_at = now;
      old.next_id = result.next_id;
      refresh_tokens_[result.next_id] = {new_hash, session.id, new_expires_at};
      session_info_[session.id].refreshed_at = now;
      session_info_[session.id].expires_at = new_expires_at;
      result.rotated_at = now;
      result.outcome = RotationOutcome::kRotated;
      break;
    case RotationVerdict::kReplay: result.outcome = RotationOutcome::kReplayed; break;
    case RotationVerdict::kReuseDetected:
      RevokeLocked(session.id);
      result.outcome = RotationOutcome::kReuseDetected;
      break;
    case RotationVerdict::kSessionRevoked: result.outcome = RotationOutcome::kRevoked; break;
    case RotationVerdict::kExpired: result.outcome = RotationOutcome::kExpired; break;
    case RotationVerdict::kAccountBlocked: result.outcome = RotationOutcome::kAccountBlocked; break;
  }
  return result;
}

Result<std::optional<SessionRecord>> FakeStore::FindSession(const std::string& session_id) {
  if (!Enter()) return Unreachable();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return std::optional<SessionRecord>();
  return std::optional<SessionRecord>(it->second);
}

Result<SessionEnd> FakeStore::RevokeSession(const std::string& session_id, int64_t) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  if (sessions_.count(session_id) == 0) return SessionEnd::kNoSuchSession;
  RevokeLocked(session_id);
  return SessionEnd::kEnded;
}

Result<std::vector<SessionInfo>> FakeStore::ListSessions(int64_t user_id, int64_t now,
                                                         int64_t access_ttl_s, int64_t limit) {
  if (!Enter()) return Unreachable();
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SessionInfo> live;
  for (const auto& [id, session] : sessions_) {
    if (session.user_id != user_id) continue;
    if (std::optional<SessionInfo> info = LiveLocked(session, now, access_ttl_s)) {
      live.push_back(std::move(*info));
    }
  }
  std::stable_sort(live.begin(), live.end(), [](const SessionInfo& a, const SessionInfo& b) {
    return a.created_at > b.created_at;  // ids ascending among equals: the map's order
  });
  if (static_cast<uint64_t>(limit) < live.size()) live.resize(static_cast<size_t>(limit));
  return live;
}

Result<SessionEnd> FakeStore::EndSession(int64_t user_id, const std::string& session_id,
                                         int64_t now, int64_t access_ttl_s) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end() || it->second.user_id != user_id ||
      !LiveLocked(it->second, now, access_ttl_s)) {
    return SessionEnd::kNoSuchSession;
  }
  RevokeLocked(session_id);
  return SessionEnd::kEnded;
}

Result<int64_t> FakeStore::EndAllSessions(int64_t user_id, int64_t now, int64_t access_ttl_s) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t ended = 0;
  for (auto& [id, session] : sessions_) {
    if (session.user_id != user_id || !LiveLocked(session, now, access_ttl_s)) continue;
    session.revoked = true;
    ++ended;
  }
  if (ended > 0) AppendChange(ChangeKind::kUser, std::to_string(user_id));
  return ended;
}

Result<OtpFailureOutcome> FakeStore::RecordOtpFailure(const std::string& session_id,
                                                      const LockoutPolicy& policy, int64_t now) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end() || it->second.revoked) return OtpFailureOutcome::kNotCounted;
  OtpFailureStep step = AddOtpFailure(it->second.otp_failure_times, now, policy);
  it->second.otp_failure_times = step.times;
  if (!step.revoke) {
    AppendChange(ChangeKind::kSession, session_id);
    return OtpFailureOutcome::kCounted;
  }
  RevokeLocked(session_id);
  return OtpFailureOutcome::kRevoked;
}

Result<std::vector<SigningKeyRecord>> FakeStore::ListSigningKeys() {
  if (!Enter()) return Unreachable();
  std::lock_guard<std::mutex> lock(mutex_);
  return keys_;
}

Status FakeStore::AddSigningKey(const SigningKeyRecord& key, int64_t now) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  for (SigningKeyRecord& old : keys_) {
    if (old.retired_at == 0) old.retired_at = now;
  }
  SigningKeyRecord added = key;
  added.created_at = now;
  added.retired_at = 0;
  keys_.push_back(added);
  AppendChange(ChangeKind::kKeys, "");
  return Status::Ok();
}

Result<int64_t> FakeStore::LatestChangeSeq() {
  if (!Enter()) return Unreachable();
  std::lock_guard<std::mutex> lock(mutex_);
  return changes_.empty() ? int64_t{0} : changes_.back().seq;
}

Result<std::vector<Change>> FakeStore::ChangesSince(int64_t seq) {
  if (!Enter()) return Unreachable();
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Change> later;
  for (const Change& change : changes_) {
    if (change.seq > seq) later.push_back(change);
  }
  return later;
}

Result<std::optional<std::string>> FakeStore::GetSetting(const std::string& name) {
  if (!Enter()) return Unreachable();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = settings_.find(name);
  if (it == settings_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Result<std::string> FakeStore::PutSettingIfAbsent(const std::string& name,
                                                  const std::string& value) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  return settings_.emplace(name, value).first->second;
}

Status FakeStore::Prune(int64_t, int64_t, const LockoutPolicy&) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  return Status::Ok();
}

Status FakeStore::Heartbeat(const std::string& instance_id, int64_t now) {
  if (std::optional<Error> refused = EnterWrite()) return *refused;
  std::lock_guard<std::mutex> lock(mutex_);
  heartbeats_[instance_id] = now;
  std::erase_if(heartbeats_,
                [&](const auto& row) { return row.second < now - kHeartbeatRetentionS; });
  return Status::Ok();
}

}  // namespace authgate
