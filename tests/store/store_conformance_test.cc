// One conformance suite for every Store implementation (SPEC.md semantics, concurrency).
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "store/open_store.h"
#include "store/store.h"

namespace authgate {
namespace {

// A fresh, empty store per test.
struct StoreFactory {
  std::string name;
  std::function<std::string()> make_url;
};

std::string FreshSqliteUrl() {
  static std::atomic<int> counter{0};
  // Named by this process's id: a directory of that name is left over from an earlier process
  // that had the same id (ids are reused), so it is emptied once, before the first store.
  static const std::filesystem::path dir = [] {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("authgate-store-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    return path;
  }();
  return "sqlite:" + (dir / ("store" + std::to_string(counter++) + ".db")).string();
}

// The PostgreSQL server started by the CTest fixture (scripts/pg-test-server.sh) writes its
// URL to the file named by AUTHGATE_TEST_PG_URL_FILE.
std::string PostgresBaseUrl() {
  const char* file = std::getenv("AUTHGATE_TEST_PG_URL_FILE");
  if (file == nullptr) return "";
  std::ifstream in(file);
  std::string url;
  std::getline(in, url);
  return url;
}

std::string FreshPostgresUrl() {
  std::string url = PostgresBaseUrl();
  if (url.empty()) return "postgresql://unreadable-AUTHGATE_TEST_PG_URL_FILE";
  { Result<std::unique_ptr<Store>> migrated = OpenStore(url); }
  PGconn* connection = PQconnectdb(url.c_str());
  PQclear(PQexec(connection,
                 "TRUNCATE users, login_attempts, used_otp_steps, sessions, refresh_tokens, "
                 "signing_keys, changes, settings, heartbeats RESTART IDENTITY"));
  PQfinish(connection);
  return url;
}

// The heartbeat rows as stored (instance id → at), read beside the store: nothing in authgate
// reads them, so the Store has no operation for it.
std::map<std::string, int64_t> HeartbeatRows(const std::string& url) {
  constexpr const char* kSelect = "SELECT instance_id, at FROM heartbeats";
  std::map<std::string, int64_t> rows;
  if (url.starts_with("sqlite:")) {
    sqlite3* db = nullptr;
    sqlite3_stmt* select = nullptr;
    if (sqlite3_open_v2(url.substr(7).c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
        sqlite3_prepare_v2(db, kSelect, -1, &select, nullptr) == SQLITE_OK) {
      while (sqlite3_step(select) == SQLITE_ROW) {
        rows[reinterpret_cast<const char*>(sqlite3_column_text(select, 0))] =
            sqlite3_column_int64(select, 1);
      }
    }
    sqlite3_finalize(select);
    sqlite3_close(db);
    return rows;
  }
  PGconn* connection = PQconnectdb(url.c_str());
  PGresult* result = PQexec(connection, kSelect);
  for (int row = 0; row < PQntuples(result); ++row) {
    rows[PQgetvalue(result, row, 0)] = std::stoll(PQgetvalue(result, row, 1));
  }
  PQclear(result);
  PQfinish(connection);
  return rows;
}

std::vector<StoreFactory> Factories() {
  std::vector<StoreFactory> factories = {{"sqlite", FreshSqliteUrl}};
  if (std::getenv("AUTHGATE_TEST_PG_URL_FILE") != nullptr) {
    factories.push_back({"postgres", FreshPostgresUrl});
  }
  return factories;
}

class StoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    url_ = GetParam().make_url();
    Result<std::unique_ptr<Store>> opened = OpenStore(url_);
    ASSERT_TRUE(opened.ok()) << opened.error();
    store_ = std::move(*opened);
  }

  int64_t AddUser(const std::string& name, AccountStatus status = AccountStatus::kActive) {
    Result<int64_t> id = store_->CreateUser({name, "hash-" + name, "sealed-" + name, status}, kNow);
    EXPECT_TRUE(id.ok()) << id.error();
    return id.ok() ? *id : 0;
  }

  // A session made the way a login makes it (each with an otp step of its own).
  bool NewSession(const std::string& session_id, int64_t user_id, const std::string& refresh_hash,
                  int64_t refresh_expires_at, int64_t created_at = kNow) {
    Result<std::optional<UserRecord>> user = store_->FindUserById(user_id);
    if (!user.ok() || !user->has_value()) return false;
    Result<LoginCompletion> made = Login((*user)->username, user_id, next_step_++, session_id,
                                         refresh_hash, refresh_expires_at, created_at);
    return made.ok() && *made == LoginCompletion::kCompleted;
  }

  // The tests name refresh tokens by their hashes; as a client keeps the id its token carries
  // (core/refresh_token.h), these remember the id the store gave each hash. A hash never
  // stored is presented as a token of before ids (id 0): found by no row written since.
  Result<LoginCompletion> Login(const std::string& username, int64_t user_id, int64_t step,
                                const std::string& session_id, const std::string& refresh_hash,
                                int64_t refresh_expires_at, int64_t now) {
    Result<CompletedLogin> made = store_->CompleteLogin(username, user_id, step, session_id,
                                                        refresh_hash, refresh_expires_at, now);
    if (!made) return made.failure();
    if (made->completion == LoginCompletion::kCompleted) Remember(refresh_hash, made->refresh_id);
    return made->completion;
  }

  Result<LoginResult> Finish(const LoginFinish& login, const OtpMatcher& match_otp) {
    Result<LoginResult> finished = store_->FinishLogin(login, match_otp);
    if (finished && finished->verdict == LoginVerdict::kCompleted) {
      Remember(login.refresh_hash, finished->refresh_id);
    }
    return finished;
  }

  Result<RotationResult> Rotate(const std::string& old_hash, const std::string& new_hash,
                                int64_t new_expires_at, int64_t now, int64_t window_s = 0) {
    Result<RotationResult> result =
        store_->RotateRefreshToken(Key(old_hash), new_hash, new_expires_at, now, window_s);
    if (result && (result->outcome == RotationOutcome::kRotated ||
                   result->outcome == RotationOutcome::kReplayed)) {
      Remember(new_hash, result->next_id);
    }
    return result;
  }

  RefreshKey Key(const std::string& hash) {
    std::lock_guard<std::mutex> lock(ids_mutex_);
    auto found = refresh_ids_.find(hash);
    return RefreshKey{found == refresh_ids_.end() ? 0 : found->second, hash};
  }

  void Remember(const std::string& hash, int64_t id) {
    std::lock_guard<std::mutex> lock(ids_mutex_);
    refresh_ids_[hash] = id;
  }

  static constexpr int64_t kNow = 1700000000;
  static constexpr LockoutPolicy kPolicy{5, 600};
  // Shorter than every refresh token's life below: a session lives as long as its refresh token.
  static constexpr int64_t kShortAccessTtl = 1;
  std::string url_;
  std::unique_ptr<Store> store_;
  int64_t next_step_ = 1;
  std::mutex ids_mutex_;
  std::map<std::string, int64_t> refresh_ids_;
};

TEST_P(StoreConformance, UsersAreCreatedFoundAndListed) {
  int64_t alice = AddUser("alice");
  int64_t bob = AddUser("bob", AccountStatus::kUnverified);
  EXPECT_NE(alice, bob);
  EXPECT_FALSE(store_->CreateUser({"alice", "h", "s", AccountStatus::kActive}, kNow).ok());
  auto found = store_->FindUserByName("bob");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, bob);
  EXPECT_EQ((*found)->status, AccountStatus::kUnverified);
  EXPECT_EQ((*found)->password_hash, "hash-bob");
  EXPECT_EQ((*found)->totp_secret_sealed, "sealed-bob");
  EXPECT_FALSE(store_->FindUserByName("carol")->has_value());
  EXPECT_EQ((*store_->FindUserById(alice))->username, "alice");
  EXPECT_EQ(store_->ListUsers()->size(), 2u);
}

TEST_P(StoreConformance, BulkCreationIsAllOrNothing) {
  AddUser("taken");
  std::vector<NewUser> batch = {{"n1", "h", "s", AccountStatus::kActive},
                                {"taken", "h", "s", AccountStatus::kActive},
                                {"n3", "h", "s", AccountStatus::kActive}};
  Result<std::vector<int64_t>> failed = store_->CreateUsers(batch, kNow);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().find("'taken'"), std::string::npos) << failed.error();
  EXPECT_EQ(failed.code(), ErrorCode::kAlreadyExists) << failed.error();
  EXPECT_EQ(failed.failure().entry, std::optional<size_t>(1)) << failed.error();
  EXPECT_FALSE(store_->FindUserByName("n1")->has_value());
  batch[1].username = "n2";
  Result<std::vector<int64_t>> created = store_->CreateUsers(batch, kNow);
  ASSERT_TRUE(created.ok()) << created.error();
  EXPECT_EQ(created->size(), 3u);
  EXPECT_EQ(store_->ListUsers()->size(), 4u);
}

TEST_P(StoreConformance, StatusChangesAreLogged) {
  int64_t alice = AddUser("alice");
  int64_t before = *store_->LatestChangeSeq();
  EXPECT_EQ(*store_->SetStatus("alice", AccountStatus::kSuppressed, kNow), UserUpdate::kUpdated);
  EXPECT_EQ(*store_->SetStatus("nobody", AccountStatus::kSuppressed, kNow), UserUpdate::kNoSuchUser);
  EXPECT_EQ((*store_->FindUserById(alice))->status, AccountStatus::kSuppressed);
  std::vector<Change> changes = *store_->ChangesSince(before);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, ChangeKind::kUser);
  EXPECT_EQ(changes[0].ref, std::to_string(alice));
  EXPECT_GT(*store_->LatestChangeSeq(), before);
}

TEST_P(StoreConformance, LockoutSequence) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(*store_->AdmitLoginAttempt("ghost", kNow, kPolicy), Admission::kProceed);
    AttemptState after = *store_->RecordLoginFailure("ghost", kNow, kPolicy);
    EXPECT_EQ(IsLocked(after, kNow), i == 4);
  }
  EXPECT_EQ(*store_->AdmitLoginAttempt("ghost", kNow, kPolicy), Admission::kLocked);
  EXPECT_EQ(store_->GetAttemptState("ghost")->locked_until, kNow + 600);
  EXPECT_TRUE(store_->ClearAttempts("ghost").ok());
  EXPECT_EQ(*store_->AdmitLoginAttempt("ghost", kNow, kPolicy), Admission::kProceed);
  EXPECT_TRUE(store_->ClearAttempts("ghost").ok());
  EXPECT_EQ(store_->GetAttemptState("ghost")->count, 0);
}

TEST_P(StoreConformance, ConcurrentAttemptsAdmitExactlyTheLimit) {
  std::atomic<int> proceeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        Result<Admission> admission = store_->AdmitLoginAttempt("target", kNow, kPolicy);
        ASSERT_TRUE(admission.ok()) << admission.error();
        if (*admission == Admission::kProceed) {
          ++proceeded;
          ASSERT_TRUE(store_->RecordLoginFailure("target", kNow, kPolicy).ok());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(proceeded.load(), 5);
  EXPECT_TRUE(IsLocked(*store_->GetAttemptState("target"), kNow));
}

TEST_P(StoreConformance, LoginOtpStepIsSingleUse) {
  int64_t alice = AddUser("alice");
  int64_t bob = AddUser("bob");
  EXPECT_EQ(*Login("alice", alice, 100, "a1", "ra1", kNow + 100, kNow), LoginCompletion::kCompleted);
  EXPECT_EQ(*Login("alice", alice, 100, "a2", "ra2", kNow + 100, kNow), LoginCompletion::kOtpStepUsed);
  EXPECT_EQ(*Login("alice", alice, 101, "a3", "ra3", kNow + 100, kNow), LoginCompletion::kCompleted);
  EXPECT_EQ(*Login("bob", bob, 100, "b1", "rb1", kNow + 100, kNow), LoginCompletion::kCompleted);
}

TEST_P(StoreConformance, CompleteLoginIsAllOrNothing) {
  int64_t alice = AddUser("alice");
  ASSERT_EQ(*store_->AdmitLoginAttempt("alice", kNow, kPolicy), Admission::kProceed);
  ASSERT_TRUE(store_->RecordLoginFailure("alice", kNow, kPolicy).ok());
  ASSERT_EQ(*store_->AdmitLoginAttempt("alice", kNow, kPolicy), Admission::kProceed);
  ASSERT_EQ(store_->GetAttemptState("alice")->count, 2);  // one failure, one in flight
  // Success: the step is used, the failures are forgotten, the session and its token exist.
  ASSERT_EQ(*Login("alice", alice, 7, "s1", "r1", kNow + 100, kNow), LoginCompletion::kCompleted);
  EXPECT_EQ(store_->GetAttemptState("alice")->count, 0);
  ASSERT_TRUE(store_->FindSession("s1")->has_value());
  EXPECT_EQ(Rotate("r1", "r2", kNow + 100, kNow)->outcome,
            RotationOutcome::kRotated);
  // A reused step makes no session and no token: it counts as the failure it is (the unit its
  // admission reserved stays counted).
  ASSERT_EQ(*store_->AdmitLoginAttempt("alice", kNow, kPolicy), Admission::kProceed);
  EXPECT_EQ(*Login("alice", alice, 7, "s2", "q1", kNow + 100, kNow), LoginCompletion::kOtpStepUsed);
  EXPECT_FALSE(store_->FindSession("s2")->has_value());
  EXPECT_EQ(Rotate("q1", "q2", kNow + 100, kNow)->outcome,
            RotationOutcome::kUnknown);
  EXPECT_EQ(store_->GetAttemptState("alice")->count, 1);
  // A session id that already exists fails the whole login: the step stays unused.
  EXPECT_FALSE(Login("alice", alice, 8, "s1", "q3", kNow + 100, kNow).ok());
  EXPECT_EQ(*Login("alice", alice, 8, "s3", "q4", kNow + 100, kNow), LoginCompletion::kCompleted);
}

// Alice's login at 1700000000 (creating session `session_id` when it completes).
LoginFinish AliceFinish(int64_t user_id, const LockoutPolicy& policy,
                        const std::string& session_id = "") {
  LoginFinish finish;
  finish.username = "alice";
  finish.user_id = user_id;
  finish.lockout = policy;
  finish.session_id = session_id;
  finish.refresh_hash = "refresh-" + session_id;
  finish.refresh_expires_at = 1700000100;
  finish.now = 1700000000;
  return finish;
}

// SPEC §10.3: FinishLogin with a matcher that proves nothing.
LoginResult FinishWrong(Store& store, int64_t user_id, const LockoutPolicy& policy,
                        std::atomic<int>* matched = nullptr) {
  Result<LoginResult> result = store.FinishLogin(AliceFinish(user_id, policy), [matched] {
        if (matched != nullptr) ++*matched;
        return std::optional<int64_t>();
      });
  EXPECT_TRUE(result.ok()) << result.error();
  return result.ok() ? *result : LoginResult{};
}

TEST_P(StoreConformance, WrongOtpsAfterTheRightPasswordHoldTheAccount) {
  const int64_t alice = AddUser("alice");
  const LockoutPolicy policy{100, 600, 3};
  for (int i = 1; i <= 3; ++i) {
    ASSERT_EQ(*store_->AdmitLoginAttempt("alice", kNow, policy), Admission::kProceed);
    LoginResult result = FinishWrong(*store_, alice, policy);
    EXPECT_EQ(result.verdict, LoginVerdict::kWrongOtp);
    EXPECT_EQ(result.now_held, i == 3);
    EXPECT_EQ(result.attempts.count, i);  // each is a §2 failure too
  }
  EXPECT_EQ(*store_->AdmitLoginAttempt("alice", kNow, policy), Admission::kHeld);
  EXPECT_EQ(store_->GetAttemptState("alice")->count, 3);  // a held refusal reserves nothing
  UserRecord held = **store_->FindUserByName("alice");
  EXPECT_TRUE(held.held());
  EXPECT_EQ(held.login_otp_failures, 3);
  // A finish that raced the hold matches nothing, even a right code.
  std::atomic<int> matched{0};
  EXPECT_EQ(FinishWrong(*store_, alice, policy, &matched).verdict, LoginVerdict::kHeld);
  EXPECT_EQ(matched.load(), 0);
  EXPECT_FALSE(NewSession("s1", alice, "r1", kNow + 100));
  // The operator's unlock releases the hold and both counts.
  ASSERT_TRUE(store_->ClearAttempts("alice").ok());
  EXPECT_FALSE((*store_->FindUserByName("alice"))->held());
  EXPECT_EQ((*store_->FindUserByName("alice"))->login_otp_failures, 0);
  EXPECT_EQ(*store_->AdmitLoginAttempt("alice", kNow, policy), Admission::kProceed);
  EXPECT_TRUE(NewSession("s2", alice, "r2", kNow + 100));
}

TEST_P(StoreConformance, AProvenOtpResetsTheCountAndAReusedOneCounts) {
  const int64_t alice = AddUser("alice");
  const LockoutPolicy policy{100, 600, 3};
  FinishWrong(*store_, alice, policy);
  FinishWrong(*store_, alice, policy);
  ASSERT_TRUE(NewSession("s1", alice, "r1", kNow + 100));  // step 1
  EXPECT_EQ((*store_->FindUserByName("alice"))->login_otp_failures, 0);
  FinishWrong(*store_, alice, policy);
  // The used step 1 again: counted as a wrong otp.
  Result<LoginResult> reused = Finish(AliceFinish(alice, policy, "s2"),
                                                   [] { return std::optional<int64_t>(1); });
  ASSERT_TRUE(reused.ok()) << reused.error();
  EXPECT_EQ(reused->verdict, LoginVerdict::kOtpStepUsed);
  EXPECT_FALSE(store_->FindSession("s2")->has_value());
  EXPECT_EQ((*store_->FindUserByName("alice"))->login_otp_failures, 2);
  // An inactive account's proven otp resets too, and uses no step.
  ASSERT_EQ(*store_->SetStatus("alice", AccountStatus::kSuppressed, kNow), UserUpdate::kUpdated);
  LoginFinish suppressed = AliceFinish(alice, policy);
  suppressed.active = false;
  Result<LoginResult> inactive =
      Finish(suppressed, [] { return std::optional<int64_t>(2); });
  EXPECT_EQ(inactive->verdict, LoginVerdict::kProvenInactive);
  EXPECT_EQ((*store_->FindUserByName("alice"))->login_otp_failures, 0);
  ASSERT_EQ(*store_->SetStatus("alice", AccountStatus::kActive, kNow), UserUpdate::kUpdated);
  EXPECT_TRUE(NewSession("s3", alice, "r3", kNow + 100));  // step 2 is still unused
}

TEST_P(StoreConformance, WithoutAHoldLimitNothingHolds) {
  const int64_t alice = AddUser("alice");
  const LockoutPolicy policy{1000, 600, 0};
  for (int i = 0; i < 30; ++i) EXPECT_FALSE(FinishWrong(*store_, alice, policy).now_held);
  EXPECT_FALSE((*store_->FindUserByName("alice"))->held());
  EXPECT_EQ((*store_->FindUserByName("alice"))->login_otp_failures, 0);
}

// However many finishes race, no more otps than the limit are matched, and one of them holds.
TEST_P(StoreConformance, ConcurrentWrongOtpsMatchExactlyTheHoldLimit) {
  const int64_t alice = AddUser("alice");
  const LockoutPolicy policy{1000, 600, 20};
  std::atomic<int> matched{0};
  std::atomic<int> holds{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 6; ++i) {
        if (FinishWrong(*store_, alice, policy, &matched).now_held) ++holds;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(matched.load(), 20);
  EXPECT_EQ(holds.load(), 1);
  EXPECT_TRUE((*store_->FindUserByName("alice"))->held());
}

TEST_P(StoreConformance, RefreshRotationAndReuseDetection) {
  int64_t alice = AddUser("alice");
  ASSERT_TRUE(NewSession("s1", alice, "r1", kNow + 100));
  RotationResult first = *Rotate("r1", "r2", kNow + 100, kNow);
  EXPECT_EQ(first.outcome, RotationOutcome::kRotated);
  EXPECT_EQ(first.session_id, "s1");
  EXPECT_EQ(first.user_id, alice);
  EXPECT_EQ(Rotate("nope", "x", kNow + 100, kNow)->outcome,
            RotationOutcome::kUnknown);
  // r1 again: reuse; the whole session dies, r2 included.
  EXPECT_EQ(Rotate("r1", "r3", kNow + 100, kNow)->outcome,
            RotationOutcome::kReuseDetected);
  EXPECT_TRUE((*store_->FindSession("s1"))->revoked);
  EXPECT_EQ(Rotate("r2", "r4", kNow + 100, kNow)->outcome,
            RotationOutcome::kRevoked);
}

// SPEC §10.2: the token rotated last, presented again within the window, changes nothing.
TEST_P(StoreConformance, TheLastRotatedTokenIsReplayedWithinTheWindow) {
  int64_t alice = AddUser("alice");
  ASSERT_TRUE(NewSession("s1", alice, "r1", kNow + 100));
  ASSERT_EQ(Rotate("r1", "r2", kNow + 100, kNow, 10)->outcome,
            RotationOutcome::kRotated);
  RotationResult replay = *Rotate("r1", "r2", kNow + 100, kNow + 10, 10);
  EXPECT_EQ(replay.outcome, RotationOutcome::kReplayed);
  EXPECT_EQ(replay.rotated_at, kNow);
  EXPECT_EQ(replay.session_id, "s1");
  EXPECT_FALSE((*store_->FindSession("s1"))->revoked);
  // After the window: reuse, as in §2.
  EXPECT_EQ(Rotate("r1", "r2", kNow + 100, kNow + 11, 10)->outcome,
            RotationOutcome::kReuseDetected);
  EXPECT_TRUE((*store_->FindSession("s1"))->revoked);
}

TEST_P(StoreConformance, ATokenTwoGenerationsOldIsReuseWithinTheWindow) {
  int64_t alice = AddUser("alice");
  ASSERT_TRUE(NewSession("s1", alice, "r1", kNow + 100));
  ASSERT_EQ(Rotate("r1", "r2", kNow + 100, kNow, 10)->outcome,
            RotationOutcome::kRotated);
  ASSERT_EQ(Rotate("r2", "r3", kNow + 100, kNow, 10)->outcome,
            RotationOutcome::kRotated);
  EXPECT_EQ(Rotate("r2", "r3", kNow + 100, kNow + 1, 10)->outcome,
            RotationOutcome::kReplayed);
  EXPECT_EQ(Rotate("r1", "r2", kNow + 100, kNow + 1, 10)->outcome,
            RotationOutcome::kReuseDetected);
  EXPECT_TRUE((*store_->FindSession("s1"))->revoked);
}

// Several rounds: on PostgreSQL the losers wait for the winner's row lock, which is where a
// statement that joined the successor once read it as not yet there (reuse, not a replay).
TEST_P(StoreConformance, ConcurrentRefreshesOfOneTokenRotateOnceAndReplay) {
  int64_t alice = AddUser("alice");
  for (int round = 0; round < 5; ++round) {
    const std::string session = "s" + std::to_string(round);
    const std::string first = "r" + session;
    ASSERT_TRUE(NewSession(session, alice, first, kNow + 100));
    std::atomic<int> rotated{0};
    std::atomic<int> replayed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        Result<RotationResult> result =
            Rotate(first, first + "+", kNow + 100, kNow, 10);
        ASSERT_TRUE(result.ok()) << result.error();
        EXPECT_EQ(result->rotated_at, kNow);
        if (result->outcome == RotationOutcome::kRotated) ++rotated;
        if (result->outcome == RotationOutcome::kReplayed) ++replayed;
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(rotated.load(), 1) << round;
    EXPECT_EQ(replayed.load(), 7) << round;
    EXPECT_FALSE((*store_->FindSession(session))->revoked) << round;
    EXPECT_EQ(Rotate(first + "+", first + "++", kNow + 100, kNow, 10)->outcome,
              RotationOutcome::kRotated);
  }
}

// Ids are sequential, so anyone can name a token's row: only its secret's hash proves it. A
// named row with another hash — a rotated token's included — is unknown and changes nothing
// (were it a reuse, guessing ids would end everyone's sessions).
TEST_P(StoreConformance, AnIdWithAnotherSecretIsUnknownAndChangesNothing) {
  const int64_t alice = AddUser("alice");
  const int64_t bob = AddUser("bob");
  ASSERT_TRUE(NewSession("a1", alice, "ra1", kNow + 100));
  ASSERT_TRUE(NewSession("b1", bob, "rb1", kNow + 100));
  ASSERT_EQ(Rotate("ra1", "ra2", kNow + 100, kNow)->outcome, RotationOutcome::kRotated);
  for (const RefreshKey& forged : {RefreshKey{Key("ra1").id, "rb1"}, RefreshKey{Key("ra1").id, ""},
                                   RefreshKey{Key("ra2").id, "ra1"}, RefreshKey{Key("rb1").id, "ra2"},
                                   RefreshKey{Key("ra2").id + 1000, "ra2"}}) {
    Result<RotationResult> result = store_->RotateRefreshToken(forged, "x", kNow + 100, kNow, 10);
    ASSERT_TRUE(result.ok()) << result.error();
    EXPECT_EQ(result->outcome, RotationOutcome::kUnknown) << forged.id << " " << forged.hash;
    EXPECT_EQ(result->session_id, "");
  }
  EXPECT_FALSE((*store_->FindSession("a1"))->revoked);
  EXPECT_EQ(Rotate("ra2", "ra3", kNow + 100, kNow)->outcome, RotationOutcome::kRotated);
  EXPECT_EQ(Rotate("rb1", "rb2", kNow + 100, kNow)->outcome, RotationOutcome::kRotated);
}

TEST_P(StoreConformance, RefreshRespectsExpiryAndAccountStatus) {
  int64_t alice = AddUser("alice");
  ASSERT_TRUE(NewSession("s1", alice, "r1", kNow + 10));
  EXPECT_EQ(Rotate("r1", "r2", kNow + 100, kNow + 10)->outcome,
            RotationOutcome::kExpired);
  ASSERT_TRUE(NewSession("s2", alice, "q1", kNow + 100));
  ASSERT_EQ(*store_->SetStatus("alice", AccountStatus::kSuppressed, kNow), UserUpdate::kUpdated);
  RotationResult blocked = *Rotate("q1", "q2", kNow + 100, kNow);
  EXPECT_EQ(blocked.outcome, RotationOutcome::kAccountBlocked);
  EXPECT_EQ(blocked.status, AccountStatus::kSuppressed);
  ASSERT_EQ(*store_->SetStatus("alice", AccountStatus::kActive, kNow), UserUpdate::kUpdated);
  EXPECT_EQ(Rotate("q1", "q2", kNow + 100, kNow)->outcome,
            RotationOutcome::kRotated);  // the blocked attempt changed nothing
}

TEST_P(StoreConformance, ConcurrentRotationsOfOneTokenHaveOneWinner) {
  int64_t alice = AddUser("alice");
  for (int round = 0; round < 5; ++round) {
    std::string session = "s" + std::to_string(round);
    std::string token = "t" + std::to_string(round);
    ASSERT_TRUE(NewSession(session, alice, token, kNow + 100));
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        Result<RotationResult> result = Rotate(
            token, token + "-new" + std::to_string(t), kNow + 100, kNow);
        ASSERT_TRUE(result.ok()) << result.error();
        if (result->outcome == RotationOutcome::kRotated) ++winners;
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(winners.load(), 1) << "round " << round;
  }
}

TEST_P(StoreConformance, NoTokenSurvivesARevocationRacingARefresh) {
  int64_t alice = AddUser("alice");
  for (int round = 0; round < 10; ++round) {
    std::string session = "s" + std::to_string(round);
    std::string token = "t" + std::to_string(round);
    std::string next = token + "-next";
    ASSERT_TRUE(NewSession(session, alice, token, kNow + 100));
    std::thread refresher([&] {
      ASSERT_TRUE(Rotate(token, next, kNow + 100, kNow).ok());
    });
    std::thread revoker([&] { ASSERT_TRUE(store_->RevokeSession(session, kNow).ok()); });
    refresher.join();
    revoker.join();
    EXPECT_NE(Rotate(next, next + "x", kNow + 100, kNow)->outcome,
              RotationOutcome::kRotated);
    EXPECT_NE(Rotate(token, token + "x", kNow + 100, kNow)->outcome,
              RotationOutcome::kRotated);
  }
}

TEST_P(StoreConformance, CredentialChangesRevokeEverySession) {
  int64_t alice = AddUser("alice");
  int64_t bob = AddUser("bob");
  ASSERT_TRUE(NewSession("a1", alice, "ra1", kNow + 100));
  ASSERT_TRUE(NewSession("a2", alice, "ra2", kNow + 100));
  ASSERT_TRUE(NewSession("b1", bob, "rb1", kNow + 100));
  EXPECT_EQ(*store_->SetPasswordHash("alice", "new-hash", kNow), UserUpdate::kUpdated);
  EXPECT_TRUE((*store_->FindSession("a1"))->revoked);
  EXPECT_TRUE((*store_->FindSession("a2"))->revoked);
  EXPECT_FALSE((*store_->FindSession("b1"))->revoked);
  EXPECT_EQ((*store_->FindUserById(alice))->password_hash, "new-hash");
  EXPECT_EQ(*store_->SetTotpSecret("bob", "new-sealed", kNow), UserUpdate::kUpdated);
  EXPECT_TRUE((*store_->FindSession("b1"))->revoked);
  EXPECT_EQ(*store_->SetPasswordHash("nobody", "h", kNow), UserUpdate::kNoSuchUser);
}

// SPEC §10.4: what a login stores is listed, newest first, with the last rotation and the
// current token's expiry; revoked and expired sessions and other users' are not.
TEST_P(StoreConformance, LiveSessionsAreListedNewestFirst) {
  const int64_t alice = AddUser("alice");
  const int64_t bob = AddUser("bob");
  LoginFinish first = AliceFinish(alice, kPolicy, "a1");
  first.address = "203.0.113.7";
  first.user_agent = "curl/8.1.2 \xc3\xa9";
  ASSERT_EQ(Finish(first, [] { return std::optional<int64_t>(1000); })->verdict,
            LoginVerdict::kCompleted);
  ASSERT_TRUE(NewSession("a2", alice, "ra2", kNow + 100));   // same second: by id
  ASSERT_TRUE(NewSession("a3", alice, "ra3", kNow + 10));    // expires first
  ASSERT_TRUE(NewSession("a4", alice, "ra4", kNow + 100));
  ASSERT_TRUE(NewSession("b1", bob, "rb1", kNow + 100));
  ASSERT_EQ(*store_->RevokeSession("a4", kNow), SessionEnd::kEnded);
  ASSERT_EQ(Rotate("refresh-a1", "n1", kNow + 500, kNow + 5)->outcome,
            RotationOutcome::kRotated);

  Result<std::vector<SessionInfo>> listed =
      store_->ListSessions(alice, kNow + 5, kShortAccessTtl, kEverySession);
  ASSERT_TRUE(listed.ok()) << listed.error();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].id, "a1");
  EXPECT_EQ((*listed)[1].id, "a2");
  EXPECT_EQ((*listed)[2].id, "a3");
  const SessionInfo& a1 = (*listed)[0];
  EXPECT_EQ(a1.created_at, kNow);
  EXPECT_EQ(a1.refreshed_at, kNow + 5);
  EXPECT_EQ(a1.expires_at, kNow + 500);
  EXPECT_EQ(a1.address, "203.0.113.7");
  EXPECT_EQ(a1.user_agent, "curl/8.1.2 \xc3\xa9");
  EXPECT_EQ((*listed)[1].refreshed_at, 0);
  EXPECT_EQ((*listed)[1].expires_at, kNow + 100);
  // At kNow + 10, a3's token has expired: it is not live.
  EXPECT_EQ(store_->ListSessions(alice, kNow + 10, kShortAccessTtl, kEverySession)->size(), 2u);
  EXPECT_TRUE(
      store_->ListSessions(AddUser("carol"), kNow, kShortAccessTtl, kEverySession)->empty());
}

// refresh_ttl_s < access_ttl_s: a session whose refresh token expired still authorizes with its
// last access token (the login's, or the last rotation's), so it is listed, with that token's
// expiry, and can be ended, alone or with all the others, until that token expires.
TEST_P(StoreConformance, ASessionLivesWhileItsLastAccessTokenDoes) {
  constexpr int64_t kAccessTtl = 3600;
  const int64_t alice = AddUser("alice");
  ASSERT_TRUE(NewSession("a1", alice, "ra1", kNow + 60));
  ASSERT_TRUE(NewSession("a2", alice, "ra2", kNow + 60));
  ASSERT_TRUE(NewSession("a3", alice, "ra3", kNow + 60));
  ASSERT_EQ(Rotate("ra2", "n2", kNow + 110, kNow + 50)->outcome,
            RotationOutcome::kRotated);

  Result<std::vector<SessionInfo>> listed =
      store_->ListSessions(alice, kNow + 3599, kAccessTtl, kEverySession);
  ASSERT_TRUE(listed.ok()) << listed.error();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].expires_at, kNow + 3600);  // a1: the login's access token
  EXPECT_EQ((*listed)[1].expires_at, kNow + 3650);  // a2: the rotation's
  EXPECT_EQ(*store_->EndSession(alice, "a1", kNow + 3599, kAccessTtl), SessionEnd::kEnded);
  // At kNow + 3600 only a2's access token works: a3 is no longer live, and nothing ends it.
  listed = store_->ListSessions(alice, kNow + 3600, kAccessTtl, kEverySession);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, "a2");
  EXPECT_EQ(*store_->EndSession(alice, "a3", kNow + 3600, kAccessTtl), SessionEnd::kNoSuchSession);
  EXPECT_EQ(*store_->EndAllSessions(alice, kNow + 3600, kAccessTtl), 1);
  EXPECT_TRUE((*store_->FindSession("a2"))->revoked);
  EXPECT_FALSE((*store_->FindSession("a3"))->revoked);
  EXPECT_TRUE(store_->ListSessions(alice, kNow + 3600, kAccessTtl, kEverySession)->empty());
}

// SPEC §10.4: a user ends one of their own live sessions, logged for the other instances; never
// another user's, a revoked or an expired one (nothing written then).
TEST_P(StoreConformance, AUserEndsOnlyTheirOwnLiveSessions) {
  const int64_t alice = AddUser("alice");
  const int64_t bob = AddUser("bob");
  ASSERT_TRUE(NewSession("a1", alice, "ra1", kNow + 100));
  ASSERT_TRUE(NewSession("a2", alice, "ra2", kNow + 10));
  ASSERT_TRUE(NewSession("b1", bob, "rb1", kNow + 100));
  const int64_t seq = *store_->LatestChangeSeq();
  EXPECT_EQ(*store_->EndSession(alice, "b1", kNow, kShortAccessTtl), SessionEnd::kNoSuchSession);
  EXPECT_EQ(*store_->EndSession(alice, "nope", kNow, kShortAccessTtl), SessionEnd::kNoSuchSession);
  EXPECT_EQ(*store_->EndSession(alice, "a2", kNow + 10, kShortAccessTtl),
            SessionEnd::kNoSuchSession);
  EXPECT_FALSE((*store_->FindSession("b1"))->revoked);
  EXPECT_TRUE(store_->ChangesSince(seq)->empty());

  EXPECT_EQ(*store_->EndSession(alice, "a1", kNow, kShortAccessTtl), SessionEnd::kEnded);
  EXPECT_TRUE((*store_->FindSession("a1"))->revoked);
  EXPECT_EQ(*store_->EndSession(alice, "a1", kNow, kShortAccessTtl), SessionEnd::kNoSuchSession);
  std::vector<Change> changes = *store_->ChangesSince(seq);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, ChangeKind::kSession);
  EXPECT_EQ(changes[0].ref, "a1");
  EXPECT_EQ(Rotate("ra1", "x", kNow + 100, kNow)->outcome,
            RotationOutcome::kRevoked);
}

// `user revoke --all`: every live session of the user at once, one change for the user.
TEST_P(StoreConformance, EndingAllSessionsEndsOnlyTheUsersLiveOnes) {
  const int64_t alice = AddUser("alice");
  const int64_t bob = AddUser("bob");
  ASSERT_TRUE(NewSession("a1", alice, "ra1", kNow + 100));
  ASSERT_TRUE(NewSession("a2", alice, "ra2", kNow + 100));
  ASSERT_TRUE(NewSession("b1", bob, "rb1", kNow + 100));
  const int64_t seq = *store_->LatestChangeSeq();
  EXPECT_EQ(*store_->EndAllSessions(alice, kNow, kShortAccessTtl), 2);
  EXPECT_TRUE(store_->ListSessions(alice, kNow, kShortAccessTtl, kEverySession)->empty());
  EXPECT_EQ(store_->ListSessions(bob, kNow, kShortAccessTtl, kEverySession)->size(), 1u);
  std::vector<Change> changes = *store_->ChangesSince(seq);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, ChangeKind::kUser);
  EXPECT_EQ(changes[0].ref, std::to_string(alice));
  EXPECT_EQ(*store_->EndAllSessions(alice, kNow, kShortAccessTtl), 0);
  EXPECT_EQ(store_->ChangesSince(seq)->size(), 1u);  // nothing ended: nothing logged
}

// SPEC §10.4 through the API: at most `limit` sessions, the newest live ones.
TEST_P(StoreConformance, AListHoldsTheNewestLiveSessionsUpToItsLimit) {
  const int64_t alice = AddUser("alice");
  for (int i = 0; i < 5; ++i) {
    const std::string id = "s" + std::to_string(i);
    ASSERT_TRUE(NewSession(id, alice, "r" + id, kNow + 100, kNow + i));
  }
  ASSERT_EQ(*store_->RevokeSession("s4", kNow + 5), SessionEnd::kEnded);
  const auto ids = [&](int64_t limit) {
    Result<std::vector<SessionInfo>> listed =
        store_->ListSessions(alice, kNow + 5, kShortAccessTtl, limit);
    std::vector<std::string> ids;
    for (const SessionInfo& session : *listed) ids.push_back(session.id);
    return ids;
  };
  EXPECT_EQ(ids(2), (std::vector<std::string>{"s3", "s2"}));
  EXPECT_EQ(ids(4), (std::vector<std::string>{"s3", "s2", "s1", "s0"}));
  EXPECT_EQ(ids(5).size(), 4u);
  EXPECT_TRUE(ids(0).empty());
}

// 10,000 sessions of one user are listed and ended quickly (indexed by user).
TEST_P(StoreConformance, TenThousandSessionsOfOneUser) {
  const int64_t alice = AddUser("alice");
  for (int i = 0; i < 10000; ++i) {
    const std::string id = "s" + std::to_string(i);
    ASSERT_TRUE(NewSession(id, alice, "r" + id, kNow + 100));
  }
  Result<std::vector<SessionInfo>> listed =
      store_->ListSessions(alice, kNow, kShortAccessTtl, kEverySession);
  ASSERT_TRUE(listed.ok()) << listed.error();
  EXPECT_EQ(listed->size(), 10000u);
  EXPECT_EQ(*store_->EndSession(alice, "s5000", kNow, kShortAccessTtl), SessionEnd::kEnded);
  EXPECT_EQ(*store_->EndAllSessions(alice, kNow, kShortAccessTtl), 9999);
}

// SPEC §10.5: a window, not a streak. Correct codes in between reset nothing (the store is not
// told of them); failures older than the window no longer count.
TEST_P(StoreConformance, OtpFailuresRevokeAtTheLimitWithinTheWindow) {
  int64_t alice = AddUser("alice");
  ASSERT_TRUE(NewSession("s1", alice, "r1", kNow + 10000));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(*store_->RecordOtpFailure("s1", kPolicy, kNow + i), OtpFailureOutcome::kCounted);
  }
  EXPECT_EQ((*store_->FindSession("s1"))->otp_failure_times.size(), 4u);
  // kNow + 0 and + 1 have left the 600 s window at kNow + 601: three more are needed.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(*store_->RecordOtpFailure("s1", kPolicy, kNow + 601), OtpFailureOutcome::kCounted);
  }
  EXPECT_FALSE((*store_->FindSession("s1"))->revoked);
  EXPECT_EQ(*store_->RecordOtpFailure("s1", kPolicy, kNow + 601), OtpFailureOutcome::kRevoked);
  EXPECT_TRUE((*store_->FindSession("s1"))->revoked);
  EXPECT_EQ(*store_->RecordOtpFailure("s1", kPolicy, kNow + 602), OtpFailureOutcome::kNotCounted);
  EXPECT_EQ(*store_->RecordOtpFailure("nope", kPolicy, kNow), OtpFailureOutcome::kNotCounted);
}

TEST_P(StoreConformance, ConcurrentOtpFailuresCountExactlyTheLimit) {
  int64_t alice = AddUser("alice");
  ASSERT_TRUE(NewSession("s1", alice, "r1", kNow + 10000));
  std::atomic<int> counted{0};
  std::atomic<int> revoked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 8; ++i) {
        Result<OtpFailureOutcome> outcome = store_->RecordOtpFailure("s1", kPolicy, kNow);
        ASSERT_TRUE(outcome.ok()) << outcome.error();
        if (*outcome != OtpFailureOutcome::kNotCounted) ++counted;
        if (*outcome == OtpFailureOutcome::kRevoked) ++revoked;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counted.load(), 5);
  EXPECT_EQ(revoked.load(), 1);
  EXPECT_TRUE((*store_->FindSession("s1"))->revoked);
}

// SPEC §10.5: failure counts below the limit expire duration_s after their last failure, and
// prune deletes them (no row an anonymous client made stays for ever).
TEST_P(StoreConformance, FailureCountsExpireAndArePruned) {
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(*store_->AdmitLoginAttempt("ghost", kNow + i, kPolicy), Admission::kProceed);
    ASSERT_TRUE(store_->RecordLoginFailure("ghost", kNow + i, kPolicy).ok());
  }
  EXPECT_EQ(store_->GetAttemptState("ghost")->count, 4);
  ASSERT_TRUE(store_->Prune(kNow + 602, 0, kPolicy).ok());  // last failure kNow + 3: not yet
  EXPECT_EQ(store_->GetAttemptState("ghost")->count, 4);
  // Expired: the next failure starts a new count instead of locking.
  ASSERT_EQ(*store_->AdmitLoginAttempt("ghost", kNow + 603, kPolicy), Admission::kProceed);
  AttemptState after = *store_->RecordLoginFailure("ghost", kNow + 603, kPolicy);
  EXPECT_EQ(after.count, 1);
  EXPECT_FALSE(IsLocked(after, kNow + 603));
  ASSERT_TRUE(store_->Prune(kNow + 1203, 0, kPolicy).ok());
  EXPECT_EQ(store_->GetAttemptState("ghost")->count, 0);
  EXPECT_EQ(store_->GetAttemptState("ghost")->last_failure_at, 0);  // the row is gone
}

TEST_P(StoreConformance, SigningKeysRotate) {
  ASSERT_TRUE(store_->AddSigningKey({"k1", "HS256", "sealed1", 0, 0}, kNow).ok());
  ASSERT_TRUE(store_->AddSigningKey({"k2", "HS256", "sealed2", 0, 0}, kNow + 5).ok());
  std::vector<SigningKeyRecord> keys = *store_->ListSigningKeys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kid, "k1");
  EXPECT_EQ(keys[0].retired_at, kNow + 5);
  EXPECT_EQ(keys[1].kid, "k2");
  EXPECT_EQ(keys[1].retired_at, 0);
  EXPECT_EQ(keys[1].secret_sealed, "sealed2");
}

TEST_P(StoreConformance, StateSurvivesReopening) {
  AddUser("alice");
  ASSERT_EQ(*store_->AdmitLoginAttempt("alice", kNow, kPolicy), Admission::kProceed);
  ASSERT_TRUE(store_->RecordLoginFailure("alice", kNow, kPolicy).ok());
  store_.reset();
  Result<std::unique_ptr<Store>> reopened = OpenStore(url_);
  ASSERT_TRUE(reopened.ok()) << reopened.error();
  EXPECT_TRUE((*reopened)->FindUserByName("alice")->has_value());
  EXPECT_EQ((*reopened)->GetAttemptState("alice")->count, 1);
}

TEST_P(StoreConformance, PruneDropsOnlyWhatCannotMatter) {
  int64_t alice = AddUser("alice");
  ASSERT_TRUE(NewSession("s1", alice, "old", kNow + 10));
  ASSERT_TRUE(NewSession("s2", alice, "live", kNow + 1000));
  // "old" has expired, but the access token issued with it (kNow) lives until kNow + 100:
  // the token row and its session stay (a verify still finds the session).
  ASSERT_TRUE(store_->Prune(kNow + 20, 100, kPolicy).ok());
  EXPECT_EQ(Rotate("old", "x", kNow + 1000, kNow + 20)->outcome,
            RotationOutcome::kExpired);
  EXPECT_TRUE(store_->FindSession("s1")->has_value());
  ASSERT_TRUE(store_->Prune(kNow + 100, 100, kPolicy).ok());
  EXPECT_EQ(Rotate("old", "x", kNow + 1000, kNow + 100)->outcome,
            RotationOutcome::kUnknown);
  EXPECT_FALSE(store_->FindSession("s1")->has_value());
  EXPECT_TRUE(store_->FindSession("s2")->has_value());
  EXPECT_EQ(Rotate("live", "y", kNow + 1000, kNow + 100)->outcome,
            RotationOutcome::kRotated);
}

// A session stays while any of its tokens can still work, and goes with the last one.
TEST_P(StoreConformance, PruneKeepsASessionWhileOneOfItsTokensLives) {
  int64_t alice = AddUser("alice");
  ASSERT_TRUE(NewSession("s1", alice, "r1", kNow + 10));
  ASSERT_EQ(Rotate("r1", "r2", kNow + 50, kNow + 5)->outcome,
            RotationOutcome::kRotated);
  ASSERT_TRUE(store_->RevokeSession("s1", kNow + 6).ok());
  ASSERT_TRUE(store_->Prune(kNow + 30, 0, kPolicy).ok());  // r1 gone, r2 (kNow + 50) not
  Result<std::optional<SessionRecord>> session = store_->FindSession("s1");
  ASSERT_TRUE(session.ok() && session->has_value());
  EXPECT_TRUE((*session)->revoked);
  EXPECT_EQ(Rotate("r2", "r3", kNow + 90, kNow + 30)->outcome,
            RotationOutcome::kRevoked);
  ASSERT_TRUE(store_->Prune(kNow + 50, 0, kPolicy).ok());
  EXPECT_FALSE(store_->FindSession("s1")->has_value());
  EXPECT_TRUE(store_->FindUserById(alice)->has_value());
}

TEST_P(StoreConformance, SettingsKeepTheirFirstValue) {
  EXPECT_FALSE(store_->GetSetting("check")->has_value());
  const std::string first("sealed\0\xff bytes", 15);  // binary values survive as they are
  EXPECT_EQ(*store_->PutSettingIfAbsent("check", first), first);
  EXPECT_EQ(*store_->PutSettingIfAbsent("check", "another"), first);
  EXPECT_EQ(store_->GetSetting("check")->value(), first);
  EXPECT_FALSE(store_->GetSetting("other")->has_value());
  store_.reset();
  Result<std::unique_ptr<Store>> reopened = OpenStore(url_);
  ASSERT_TRUE(reopened.ok()) << reopened.error();
  EXPECT_EQ((*reopened)->GetSetting("check")->value(), first);
}

// Processes opening one store for the first time at once agree on a single value.
TEST_P(StoreConformance, ConcurrentFirstSettingsHaveOneWinner) {
  std::vector<std::string> seen(8);
  std::vector<std::thread> writers;
  for (size_t i = 0; i < seen.size(); ++i) {
    writers.emplace_back([&, i] {
      Result<std::string> stored = store_->PutSettingIfAbsent("check", "value" + std::to_string(i));
      seen[i] = stored.ok() ? *stored : stored.error();
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(seen, std::vector<std::string>(seen.size(), store_->GetSetting("check")->value()));
}

// A failure names the engine's own cause (SQLite's extended result code, PostgreSQL's SQLSTATE)
// in one line, and echoes no value of the row: PostgreSQL's DETAIL would ("Key (kid)=(...)").
TEST_P(StoreConformance, AFailureNamesItsCauseAndEchoesNoValue) {
  const SigningKeyRecord key{"kid-canary", "HS256", "sealed-canary", 0, 0};
  ASSERT_TRUE(store_->AddSigningKey(key, kNow).ok());
  Status again = store_->AddSigningKey(key, kNow);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), ErrorCode::kAlreadyExists) << again.error();
  const std::string& cause = again.failure().cause;
  EXPECT_TRUE(cause == "SQLITE_CONSTRAINT_PRIMARYKEY" || cause == "SQLSTATE 23505") << cause;
  EXPECT_NE(again.error().find("(" + cause + ")"), std::string::npos) << again.error();
  EXPECT_EQ(again.error().find("canary"), std::string::npos) << again.error();
  EXPECT_EQ(again.error().find('\n'), std::string::npos) << again.error();
}

// One row per instance, set in place; a heartbeat deletes the rows not written for
// kHeartbeatRetentionS (instances stopped long ago), and only those.
TEST_P(StoreConformance, HeartbeatsKeepOneRowPerInstanceAndPruneStaleOnes) {
  const int64_t horizon = kNow - kHeartbeatRetentionS;
  ASSERT_TRUE(store_->Heartbeat("gone", horizon - 1));
  ASSERT_TRUE(store_->Heartbeat("idle", horizon));
  ASSERT_TRUE(store_->Heartbeat("self", kNow - 5));
  EXPECT_EQ(HeartbeatRows(url_),
            (std::map<std::string, int64_t>{
                {"gone", horizon - 1}, {"idle", horizon}, {"self", kNow - 5}}));
  ASSERT_TRUE(store_->Heartbeat("self", kNow));
  EXPECT_EQ(HeartbeatRows(url_),
            (std::map<std::string, int64_t>{{"idle", horizon}, {"self", kNow}}));
}

// Instances beating at once, over stale rows they all delete, never fail or wait each other out.
TEST_P(StoreConformance, ConcurrentHeartbeatsAllCommit) {
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(store_->Heartbeat("stale" + std::to_string(i), kNow - 2 * kHeartbeatRetentionS));
  }
  std::atomic<int> failed{0};
  std::vector<std::thread> instances;
  for (int i = 0; i < 6; ++i) {
    instances.emplace_back([&, i] {
      for (int beat = 0; beat < 20; ++beat) {
        if (!store_->Heartbeat("instance" + std::to_string(i), kNow + beat)) ++failed;
      }
    });
  }
  for (std::thread& instance : instances) instance.join();
  EXPECT_EQ(failed.load(), 0);
  std::map<std::string, int64_t> expected;
  for (int i = 0; i < 6; ++i) expected["instance" + std::to_string(i)] = kNow + 19;
  EXPECT_EQ(HeartbeatRows(url_), expected);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance,
                         ::testing::ValuesIn(Factories()),
                         [](const auto& info) { return info.param.name; });

// Several instances starting at the same moment on an empty database migrate it once, and all
// of them come up (the migration runs under an advisory lock).
TEST(PostgresMigrationTest, ConcurrentStartsMigrateOnce) {
  std::string url = PostgresBaseUrl();
  if (std::getenv("AUTHGATE_TEST_PG_URL_FILE") == nullptr) GTEST_SKIP() << "no PostgreSQL";
  ASSERT_FALSE(url.empty());
  PGconn* connection = PQconnectdb(url.c_str());
  PQclear(PQexec(connection, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"));
  std::atomic<int> opened{0};
  std::vector<std::thread> starts;
  for (int i = 0; i < 6; ++i) {
    starts.emplace_back([&] {
      Result<std::unique_ptr<Store>> store = OpenStore(url);
      EXPECT_TRUE(store.ok()) << store.error();
      if (store.ok()) ++opened;
    });
  }
  for (std::thread& start : starts) start.join();
  EXPECT_EQ(opened.load(), 6);
  PGresult* versions = PQexec(connection, "SELECT count(*) FROM schema_version");
  EXPECT_STREQ(PQgetvalue(versions, 0, 0), "1");
  PQclear(versions);
  PQfinish(connection);
}

// A version-1 database (before SPEC §10.5) is migrated in place: counts and sessions survive.
TEST(SqliteMigrationTest, VersionOneGainsTheFailureWindows) {
  std::string url = FreshSqliteUrl();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(url.substr(7).c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE users(id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT "
                         "NOT NULL UNIQUE, password_hash TEXT NOT NULL, totp_secret BLOB NOT NULL, "
                         "status TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER "
                         "NOT NULL);"
                         "CREATE TABLE refresh_tokens(hash TEXT PRIMARY KEY, session_id TEXT NOT "
                         "NULL, expires_at INTEGER NOT NULL, rotated INTEGER NOT NULL DEFAULT 0, "
                         "created_at INTEGER NOT NULL) WITHOUT ROWID;"
                         "CREATE TABLE login_attempts(username TEXT PRIMARY KEY, count INTEGER "
                         "NOT NULL, locked_until INTEGER NOT NULL) WITHOUT ROWID;"
                         "CREATE TABLE sessions(id TEXT PRIMARY KEY, user_id INTEGER NOT NULL, "
                         "created_at INTEGER NOT NULL, revoked_at INTEGER, otp_failures INTEGER "
                         "NOT NULL DEFAULT 0) WITHOUT ROWID;"
                         "INSERT INTO login_attempts VALUES('ghost', 3, 0);"
                         "INSERT INTO sessions VALUES('s1', 1, 5, NULL, 2);"
                         "PRAGMA user_version = 1;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Result<std::unique_ptr<Store>> store = OpenStore(url);
  ASSERT_TRUE(store.ok()) << store.error();
  EXPECT_EQ((*store)->GetAttemptState("ghost")->count, 3);
  Result<std::optional<SessionRecord>> session = (*store)->FindSession("s1");
  ASSERT_TRUE(session.ok() && session->has_value());
  EXPECT_TRUE((*session)->otp_failure_times.empty());
}

// A store made before settings existed (schema version 2) gains them when it is next opened:
// that is how a store written before the master key check gets its check value.
TEST(SqliteUpgradeTest, AVersionTwoStoreGainsSettings) {
  const std::string url = FreshSqliteUrl();
  {
    Result<std::unique_ptr<Store>> created = OpenStore(url);
    ASSERT_TRUE(created.ok()) << created.error();
    ASSERT_TRUE((*created)->CreateUser({"alice", "hash", "sealed"}, 1700000000).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(url.substr(7).c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db,
                         "DROP TABLE settings; ALTER TABLE users DROP COLUMN held_at; "
                         "ALTER TABLE refresh_tokens DROP COLUMN rotated_at; "
                         "ALTER TABLE refresh_tokens DROP COLUMN next_hash; "
                         "ALTER TABLE users DROP COLUMN login_otp_failures; "
                         "ALTER TABLE sessions DROP COLUMN expires_at; "
                         "ALTER TABLE sessions DROP COLUMN refreshed_at; "
                         "ALTER TABLE sessions DROP COLUMN address; "
                         "ALTER TABLE sessions DROP COLUMN user_agent; "
                         "DROP TABLE heartbeats; "
                         "PRAGMA user_version = 2",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Result<std::unique_ptr<Store>> upgraded = OpenStore(url);
  ASSERT_TRUE(upgraded.ok()) << upgraded.error();
  EXPECT_TRUE((*upgraded)->FindUserByName("alice")->has_value());
  EXPECT_FALSE((*upgraded)->GetSetting("check")->has_value());
  EXPECT_EQ(*(*upgraded)->PutSettingIfAbsent("check", "v"), "v");
  EXPECT_FALSE((*(*upgraded)->FindUserByName("alice"))->held());
}

// A store made before SPEC §10.4 (schema version 6) lists the sessions it had when it is next
// opened: each live one with its current token's expiry and its last rotation.
TEST(SqliteUpgradeTest, AVersionSixStoreListsItsSessions) {
  const std::string url = FreshSqliteUrl();
  const int64_t now = 1700000000;
  int64_t alice = 0;
  {
    Result<std::unique_ptr<Store>> created = OpenStore(url);
    ASSERT_TRUE(created.ok()) << created.error();
    Store& store = **created;
    alice = *store.CreateUser({"alice", "hash", "sealed"}, now);
    const CompletedLogin first = *store.CompleteLogin("alice", alice, 1, "s1", "r1", now + 100, now);
    ASSERT_EQ(first.completion, LoginCompletion::kCompleted);
    ASSERT_EQ(store.CompleteLogin("alice", alice, 2, "s2", "q1", now + 100, now + 1)->completion,
              LoginCompletion::kCompleted);
    ASSERT_EQ(store.RotateRefreshToken({first.refresh_id, "r1"}, "r2", now + 300, now + 50)->outcome,
              RotationOutcome::kRotated);
    ASSERT_EQ(store.CompleteLogin("alice", alice, 3, "s3", "p1", now + 100, now + 2)->completion,
              LoginCompletion::kCompleted);
    ASSERT_EQ(*store.RevokeSession("s3", now + 3), SessionEnd::kEnded);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(url.substr(7).c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db,
                         "ALTER TABLE sessions DROP COLUMN expires_at; "
                         "ALTER TABLE sessions DROP COLUMN refreshed_at; "
                         "ALTER TABLE sessions DROP COLUMN address; "
                         "ALTER TABLE sessions DROP COLUMN user_agent; "
                         "PRAGMA user_version = 6",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Result<std::unique_ptr<Store>> upgraded = OpenStore(url);
  ASSERT_TRUE(upgraded.ok()) << upgraded.error();
  Result<std::vector<SessionInfo>> listed =
      (*upgraded)->ListSessions(alice, now + 60, /*access_ttl_s=*/1, kEverySession);
  ASSERT_TRUE(listed.ok()) << listed.error();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "s2");
  EXPECT_EQ((*listed)[0].refreshed_at, 0);
  EXPECT_EQ((*listed)[0].expires_at, now + 100);
  EXPECT_EQ((*listed)[1].id, "s1");
  EXPECT_EQ((*listed)[1].refreshed_at, now + 50);
  EXPECT_EQ((*listed)[1].expires_at, now + 300);
  EXPECT_EQ((*listed)[1].address, "");
}

// How an engine spells what a rewind writes, and how it runs SQL and sets the schema version.
struct RewindEngine {
  std::string int_type, bool_type, serial_key, without_rowid;
  std::function<void(const std::string& sql, int version)> run;
};

// Rewrites a current store's refresh_tokens as schema version 7 (keyed by the hash, with the
// session index) or 8 (appended by id, the hash unique) had it, and sets that version. A
// successor is named by its hash there: the one a rotation since named by id is looked up.
void RewindRefreshTokens(int version, const RewindEngine& e) {
  const std::string key = version == 7 ? "" : "id " + e.serial_key + ", ";
  const std::string hash = version == 7 ? "hash TEXT PRIMARY KEY" : "hash TEXT NOT NULL UNIQUE";
  e.run("CREATE TABLE old_tokens(" + key + hash + ", session_id TEXT NOT NULL, expires_at " +
            e.int_type + " NOT NULL, rotated " + e.bool_type + " NOT NULL, created_at " +
            e.int_type + " NOT NULL, rotated_at " + e.int_type +
            " NOT NULL DEFAULT 0, next_hash TEXT NOT NULL DEFAULT '')" +
            (version == 7 ? e.without_rowid : "") +
            ";"
            "INSERT INTO old_tokens(hash, session_id, expires_at, rotated, created_at, "
            "rotated_at, next_hash) SELECT t.hash, t.session_id, t.expires_at, t.rotated, "
            "t.created_at, t.rotated_at, COALESCE((SELECT n.hash FROM refresh_tokens n "
            "WHERE n.id = t.next_id), t.next_hash) FROM refresh_tokens t ORDER BY t.id;"
            "DROP TABLE refresh_tokens; ALTER TABLE old_tokens RENAME TO refresh_tokens;"
            "CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at);" +
            (version == 7 ? "CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);"
                          : ""),
        version);
}

// Tokens of a store from before ids (issue 14.3 rebuilt the table twice) keep working after the
// migration, presented as they were issued (bare secrets, id 0): a replay within the window of
// a rotation made before is answered with the successor of then (no id), the current token
// rotates to one that carries an id, which rotates in turn; a rotated one is a reuse; pruning
// still finds the session.
void ExpectOldTokensSurvive(const std::string& url, const std::function<void()>& rewind) {
  const int64_t now = 1700000000;
  {
    Result<std::unique_ptr<Store>> created = OpenStore(url);
    ASSERT_TRUE(created.ok()) << created.error();
    Store& store = **created;
    const int64_t alice = *store.CreateUser({"alice", "hash", "sealed"}, now);
    const CompletedLogin first = *store.CompleteLogin("alice", alice, 1, "s1", "r1", now + 100, now);
    ASSERT_EQ(first.completion, LoginCompletion::kCompleted);
    ASSERT_EQ(store.RotateRefreshToken({first.refresh_id, "r1"}, "r2", now + 300, now + 50)->outcome,
              RotationOutcome::kRotated);
  }
  rewind();
  Result<std::unique_ptr<Store>> upgraded = OpenStore(url);
  ASSERT_TRUE(upgraded.ok()) << upgraded.error();
  Store& store = **upgraded;
  for (int64_t id : {1, 2}) {  // the old rows' ids: an old token is found by its hash only
    EXPECT_EQ(store.RotateRefreshToken({id, id == 1 ? "r1" : "r2"}, "y", now + 300, now + 55, 10)
                  ->outcome,
              RotationOutcome::kUnknown);
  }
  RotationResult replay = *store.RotateRefreshToken({0, "r1"}, "r2", now + 300, now + 55, 10);
  EXPECT_EQ(replay.outcome, RotationOutcome::kReplayed);
  EXPECT_EQ(replay.next_id, 0);
  RotationResult rotated = *store.RotateRefreshToken({0, "r2"}, "r3", now + 400, now + 60, 10);
  ASSERT_EQ(rotated.outcome, RotationOutcome::kRotated);
  EXPECT_GT(rotated.next_id, 0);
  replay = *store.RotateRefreshToken({0, "r2"}, "r3", now + 400, now + 61, 10);
  EXPECT_EQ(replay.outcome, RotationOutcome::kReplayed);
  EXPECT_EQ(replay.next_id, rotated.next_id);
  EXPECT_EQ(store.RotateRefreshToken({0, "r3"}, "r4", now + 400, now + 62)->outcome,
            RotationOutcome::kUnknown);  // a token with an id is found by it only
  EXPECT_EQ(store.RotateRefreshToken({rotated.next_id, "r3"}, "r4", now + 400, now + 62)->outcome,
            RotationOutcome::kRotated);
  EXPECT_EQ(store.RotateRefreshToken({0, "r1"}, "x", now + 400, now + 63)->outcome,
            RotationOutcome::kReuseDetected);
  const LockoutPolicy policy{5, 600};
  ASSERT_TRUE(store.Prune(now + 399, 0, policy).ok());  // r4 lives: the session stays
  EXPECT_TRUE(store.FindSession("s1")->has_value());
  ASSERT_TRUE(store.Prune(now + 400, 0, policy).ok());
  EXPECT_FALSE(store.FindSession("s1")->has_value());
}

RewindEngine SqliteRewind(sqlite3* db) {
  return {"INTEGER", "INTEGER", "INTEGER PRIMARY KEY AUTOINCREMENT", " WITHOUT ROWID",
          [db](const std::string& sql, int version) {
            const std::string script = sql + "PRAGMA user_version = " + std::to_string(version);
            EXPECT_EQ(sqlite3_exec(db, script.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
                << sqlite3_errmsg(db);
          }};
}

// The names of the SQLite store's indexes on refresh_tokens.
std::vector<std::string> SqliteTokenIndexes(const std::string& url) {
  std::vector<std::string> names;
  sqlite3* db = nullptr;
  sqlite3_stmt* select = nullptr;
  if (sqlite3_open(url.substr(7).c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db,
                         "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                         "tbl_name = 'refresh_tokens' ORDER BY name",
                         -1, &select, nullptr) == SQLITE_OK) {
    while (sqlite3_step(select) == SQLITE_ROW) {
      names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(select, 0)));
    }
  }
  sqlite3_finalize(select);
  sqlite3_close(db);
  return names;
}

class SqliteTokenUpgradeTest : public ::testing::TestWithParam<int> {};

TEST_P(SqliteTokenUpgradeTest, AStoreFromBeforeIdsKeepsItsRefreshTokens) {
  const std::string url = FreshSqliteUrl();
  ExpectOldTokensSurvive(url, [&] {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(url.substr(7).c_str(), &db), SQLITE_OK);
    RewindRefreshTokens(GetParam(), SqliteRewind(db));
    sqlite3_close(db);
  });
  // Rebuilt: no index a rotation writes at random (the hash's is partial: old tokens only).
  EXPECT_EQ(SqliteTokenIndexes(url),
            (std::vector<std::string>{"refresh_tokens_expiry", "refresh_tokens_legacy"}));
}

INSTANTIATE_TEST_SUITE_P(Versions, SqliteTokenUpgradeTest, ::testing::Values(7, 8));

class PostgresTokenMigrationTest : public ::testing::TestWithParam<int> {};

TEST_P(PostgresTokenMigrationTest, AStoreFromBeforeIdsKeepsItsRefreshTokens) {
  const std::string url = PostgresBaseUrl();
  if (url.empty()) GTEST_SKIP() << "no PostgreSQL";
  PGconn* connection = PQconnectdb(url.c_str());
  PQclear(PQexec(connection, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"));
  const RewindEngine engine{"BIGINT", "BOOLEAN", "BIGSERIAL PRIMARY KEY", "",
                            [&](const std::string& sql, int version) {
    const std::string script = sql + "DELETE FROM schema_version; INSERT INTO schema_version "
                                     "VALUES(" + std::to_string(version) + ");";
    PGresult* result = PQexec(connection, script.c_str());
    EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK) << PQerrorMessage(connection);
    PQclear(result);
  }};
  ExpectOldTokensSurvive(url, [&] { RewindRefreshTokens(GetParam(), engine); });
  PQfinish(connection);
}

INSTANTIATE_TEST_SUITE_P(Versions, PostgresTokenMigrationTest, ::testing::Values(7, 8));

TEST(OpenStoreTest, RejectsUnknownUrls) {
  EXPECT_FALSE(OpenStore("mysql://x").ok());
  EXPECT_FALSE(OpenStore("postgresql://nobody:x@127.0.0.1:1/none").ok());
  EXPECT_FALSE(OpenStore("sqlite:").ok());
  EXPECT_FALSE(OpenStore("").ok());
}

}  // namespace
}  // namespace authgate
