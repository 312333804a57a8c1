// LoginFlow (src/service/login_flow.h): every wrong credential looks alike, impossible names
// never reach the store, lockout, status, and the store circuit.
#include "service/login_flow.h"

#include <gtest/gtest.h>

#include <atomic>

#include "service_world.h"

namespace authgate {
namespace {

// Verifies in process and counts the verifications: each costs the same Argon2id time.
class CountingVerifier final : public PasswordVerifier {
 public:
  bool Verify(const std::string& hash, std::string_view password) override {
    ++calls;
    return VerifyPassword(hash, password);
  }
  std::atomic<int> calls{0};
};

class LoginFlowTest : public ::testing::Test {
 protected:
  Outcome<TokenGrant> Login(const std::string& username, const std::string& password,
                            const std::string& otp) {
    return flow.Login({username, password, otp}, "192.0.2.1");
  }

  ServiceWorld world;
  CountingVerifier passwords;
  LoginFlow flow{world.Context(), passwords};
  TestAccount alice = world.AddAccount("alice");
};

bool SameAnswer(const Outcome<TokenGrant>& a, const Outcome<TokenGrant>& b) {
  return !a.value && !b.value && a.error.rejection == b.error.rejection &&
         a.error.code == b.error.code && a.error.field == b.error.field;
}

TEST_F(LoginFlowTest, TheRightCredentialsGetAGrant) {
  Outcome<TokenGrant> outcome = Login("alice", alice.password, world.Otp(alice));
  ASSERT_TRUE(outcome.value);
  EXPECT_EQ(outcome.value->user_id, alice.id);
  EXPECT_FALSE(outcome.value->access_token.empty());
  EXPECT_FALSE(outcome.value->refresh_token.empty());
  EXPECT_EQ(outcome.value->expires_in, world.settings.access_ttl_s);
  EXPECT_EQ(outcome.value->refresh_expires_in, world.settings.refresh_ttl_s);
}

TEST_F(LoginFlowTest, EveryWrongCredentialGetsTheSameAnswerAfterOneHash) {
  const std::string otp = world.Otp(alice);
  ASSERT_TRUE(Login("alice", alice.password, otp).value);  // `otp` is used now
  passwords.calls = 0;
  const Outcome<TokenGrant> unknown_name = Login("bob", alice.password, otp);
  const Outcome<TokenGrant> wrong_password = Login("alice", "wrong", otp);
  const Outcome<TokenGrant> wrong_otp = Login("alice", alice.password, world.Otp(alice, 5));
  const Outcome<TokenGrant> reused_otp = Login("alice", alice.password, otp);
  const Outcome<TokenGrant> impossible_name = Login("no such name!", alice.password, otp);
  EXPECT_EQ(unknown_name.error.rejection, Rejection::kBadRequest);
  EXPECT_EQ(unknown_name.error.code, MessageCode::kUsernameOrPasswordIncorrect);
  EXPECT_EQ(unknown_name.error.field, "");
  EXPECT_TRUE(SameAnswer(unknown_name, wrong_password));
  EXPECT_TRUE(SameAnswer(unknown_name, wrong_otp));
  EXPECT_TRUE(SameAnswer(unknown_name, reused_otp));
  EXPECT_TRUE(SameAnswer(unknown_name, impossible_name));
  EXPECT_EQ(passwords.calls.load(), 5);
}

TEST_F(LoginFlowTest, ImpossibleNamesNeverReachTheStore) {
  const uint64_t calls = world.store.calls();
  for (const std::string& name : {std::string(""), std::string("with space"),
                                  std::string(65, 'a'), std::string("quote'")}) {
    EXPECT_EQ(Login(name, "x", "123456").error.code, MessageCode::kUsernameOrPasswordIncorrect);
  }
  EXPECT_EQ(world.store.calls(), calls);
  EXPECT_EQ(passwords.calls.load(), 4);  // but they take a hash's time
}

TEST_F(LoginFlowTest, WrongCredentialsLockTheNameAtTheLimit) {
  for (int i = 0; i < world.settings.lockout.max_failed_attempts; ++i) {
    EXPECT_EQ(Login("alice", "wrong", world.Otp(alice)).error.code,
              MessageCode::kUsernameOrPasswordIncorrect);
  }
  EXPECT_EQ(Login("alice", alice.password, world.Otp(alice)).error.code,
            MessageCode::kAccountLocked);
  world.clock.Advance(world.settings.lockout.duration_s);
  EXPECT_TRUE(Login("alice", alice.password, world.Otp(alice)).value);
}

TEST_F(LoginFlowTest, TheStatusIsToldOnlyOnceBothFactorsAreProven) {
  world.AddAccount("carol", AccountStatus::kSuppressed);
  TestAccount dave = world.AddAccount("dave", AccountStatus::kUnverified);
  EXPECT_EQ(Login("carol", "wrong", "123456").error.code,
            MessageCode::kUsernameOrPasswordIncorrect);
  Outcome<TokenGrant> unverified = Login("dave", dave.password, world.Otp(dave));
  EXPECT_EQ(unverified.error.rejection, Rejection::kBadRequest);
  EXPECT_EQ(unverified.error.code, MessageCode::kAccountNotVerified);
}

TEST_F(LoginFlowTest, AFailingStoreAnswers503AndOpensTheCircuit) {
  world.store.SetFailing(true);
  Outcome<TokenGrant> outcome = Login("alice", alice.password, world.Otp(alice));
  EXPECT_EQ(outcome.error.rejection, Rejection::kUnavailable);
  EXPECT_EQ(outcome.error.code, MessageCode::kServiceUnavailable);
  EXPECT_FALSE(world.health.Up());
  world.store.SetFailing(false);
  const uint64_t calls = world.store.calls();
  EXPECT_EQ(Login("alice", alice.password, world.Otp(alice)).error.code,
            MessageCode::kServiceUnavailable);
  EXPECT_EQ(world.store.calls(), calls);  // at once: the store is not tried
  world.health.Probed(true);
  EXPECT_TRUE(Login("alice", alice.password, world.Otp(alice)).value);
}

// SPEC §10.3, with a hold after 3 wrong otps and a §2 limit that never interferes.
class CredentialHoldTest : public LoginFlowTest {
 protected:
  CredentialHoldTest() {
    world.settings.lockout = {1000, 600, 3};
    held_flow = std::make_unique<LoginFlow>(world.Context(), passwords);
  }
  Outcome<TokenGrant> Login(const std::string& password, const std::string& otp) {
    return held_flow->Login({"alice", password, otp}, "192.0.2.1");
  }
  std::string WrongOtp() { return world.Otp(alice, 5); }

  std::unique_ptr<LoginFlow> held_flow;
};

TEST_F(CredentialHoldTest, WrongOtpsWithTheRightPasswordHoldTheAccountUntilUnlocked) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Login(alice.password, WrongOtp()).error.code,
              MessageCode::kUsernameOrPasswordIncorrect);  // nothing tells the guesser
  }
  EXPECT_EQ(world.AuditText().find("credential_hold") != std::string::npos, true);
  EXPECT_NE(world.metrics.Render(0, {}).find(
                "authgate_credential_holds_total{reason=\"otp_failures\"} 1"),
            std::string::npos);
  passwords.calls = 0;
  EXPECT_EQ(Login(alice.password, world.Otp(alice)).error.code, MessageCode::kAccountLocked);
  EXPECT_EQ(Login("wrong", world.Otp(alice)).error.code, MessageCode::kAccountLocked);
  world.clock.Advance(3600);  // a hold does not expire
  EXPECT_EQ(Login(alice.password, world.Otp(alice)).error.code, MessageCode::kAccountLocked);
  EXPECT_EQ(passwords.calls.load(), 0);  // no credential is checked while held
  ASSERT_TRUE(world.store.ClearAttempts("alice").ok());
  EXPECT_TRUE(Login(alice.password, world.Otp(alice)).value);
}

TEST_F(CredentialHoldTest, ASuccessfulLoginStartsTheCountAgain) {
  for (int round = 0; round < 3; ++round) {
    EXPECT_FALSE(Login(alice.password, WrongOtp()).value);
    EXPECT_FALSE(Login(alice.password, WrongOtp()).value);
    world.clock.Advance(30);  // a fresh step for the right code
    EXPECT_TRUE(Login(alice.password, world.Otp(alice)).value) << "round " << round;
  }
}

TEST_F(CredentialHoldTest, WrongPasswordsNeverHold) {
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(Login("wrong", WrongOtp()).value);
  EXPECT_TRUE(Login(alice.password, world.Otp(alice)).value);
  EXPECT_EQ(world.AuditText().find("credential_hold"), std::string::npos);
}

// The store lost between the password check and the otp's: the answer a wrong password gets
// when the store is lost at the same point (never a 503 that only a right password earns).
TEST_F(LoginFlowTest, AStoreLostAfterTheRightPasswordLooksLikeAWrongOne) {
  world.store.FailAfter(2);  // admission and lookup succeed
  const Outcome<TokenGrant> right = Login("alice", alice.password, world.Otp(alice));
  world.health.Probed(true);
  world.store.SetFailing(false);
  world.store.FailAfter(2);
  const Outcome<TokenGrant> wrong = Login("alice", "wrong", world.Otp(alice));
  EXPECT_EQ(right.error.code, MessageCode::kUsernameOrPasswordIncorrect);
  EXPECT_TRUE(SameAnswer(right, wrong));
  EXPECT_NE(world.AuditText().find("store_failed"), std::string::npos);
}

}  // namespace
}  // namespace authgate
