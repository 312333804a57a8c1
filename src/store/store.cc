#include "store/store.h"

namespace authgate {

Result<CompletedLogin> Store::CompleteLogin(const std::string& username, int64_t user_id,
                                             int64_t otp_step, const std::string& session_id,
                                             const std::string& refresh_hash,
                                             int64_t refresh_expires_at, int64_t now) {
  LoginFinish login;
  login.username = username;
  login.user_id = user_id;
  login.lockout.otp_failures_before_hold = 0;
  login.session_id = session_id;
  login.refresh_hash = refresh_hash;
  login.refresh_expires_at = refresh_expires_at;
  login.now = now;
  Result<LoginResult> finished =
      FinishLogin(login, [otp_step] { return std::optional<int64_t>(otp_step); });
  if (!finished) return finished.failure();
  if (finished->verdict != LoginVerdict::kCompleted) return CompletedLogin{};
  return CompletedLogin{LoginCompletion::kCompleted, finished->refresh_id};
}

}  // namespace authgate
