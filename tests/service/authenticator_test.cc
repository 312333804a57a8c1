// Authenticator (src/service/authenticator.h): the verify path, its memory-only mode, the otp
// failure count and the store circuit, on a FakeStore and a FakeClock.
#include "service/authenticator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "service_world.h"

namespace authgate {
namespace {

using Presence = RequestCredentials::TokenPresence;

RequestCredentials Credentials(const std::string& token, const std::string& otp) {
  return {Presence::kBearer, token, otp, 1};
}

// A code of `account` that is wrong now (outside the skew window).
std::string WrongOtp(const ServiceWorld& world, const TestAccount& account) {
  return world.Otp(account, 5);
}

void ExpectFailure(const Outcome<Identity>& outcome, Rejection rejection, MessageCode code,
                   const std::string& field) {
  ASSERT_FALSE(outcome.value);
  EXPECT_EQ(outcome.error.rejection, rejection);
  EXPECT_EQ(outcome.error.code, code);
  EXPECT_EQ(outcome.error.field, field);
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  ServiceWorld world;
  Authenticator authenticator{world.Context()};
  TestAccount alice = world.AddAccount("alice");
  TestSession session = world.OpenSession(alice);
};

TEST_F(AuthenticatorTest, AGoodTokenAndCodeVerify) {
  Outcome<Identity> outcome =
      authenticator.Verify(Credentials(session.access_token, world.Otp(alice)));
  ASSERT_TRUE(outcome.value);
  EXPECT_EQ(outcome.value->user_id, alice.id);
  EXPECT_EQ(outcome.value->username, "alice");
  EXPECT_EQ(outcome.value->session_id, session.session_id);
  EXPECT_EQ(outcome.value->expires_at, world.clock.NowSeconds() + world.settings.access_ttl_s);
}

TEST_F(AuthenticatorTest, AVerifyFromMemoryNeverCallsTheStore) {
  ASSERT_TRUE(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))).value);
  const uint64_t calls = world.store.calls();
  world.store.SetFailing(true);  // and it would not answer anyway
  for (int i = 0; i < 3; ++i) {
    std::optional<Outcome<Identity>> outcome =
        authenticator.VerifyInMemory(Credentials(session.access_token, world.Otp(alice)));
    ASSERT_TRUE(outcome.has_value());
    EXPECT_TRUE(outcome->value);
  }
  // Another thread has no memo entry: the shared caches answer it, still without the store.
  std::thread([&] {
    std::optional<Outcome<Identity>> outcome =
        authenticator.VerifyInMemory(Credentials(session.access_token, world.Otp(alice)));
    ASSERT_TRUE(outcome.has_value());
    EXPECT_TRUE(outcome->value);
  }).join();
  EXPECT_EQ(world.store.calls(), calls);
}

TEST_F(AuthenticatorTest, AColdVerifyInMemoryOnlyModeSaysItNeedsTheStore) {
  const uint64_t calls = world.store.calls();
  EXPECT_FALSE(
      authenticator.VerifyInMemory(Credentials(session.access_token, world.Otp(alice))));
  EXPECT_EQ(world.store.calls(), calls);
}

TEST_F(AuthenticatorTest, AWrongCodeInMemoryOnlyModeNeedsTheStoreToBeCounted) {
  ASSERT_TRUE(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))).value);
  const uint64_t calls = world.store.calls();
  EXPECT_FALSE(
      authenticator.VerifyInMemory(Credentials(session.access_token, WrongOtp(world, alice))));
  EXPECT_EQ(world.store.calls(), calls);
}

// Black-box finding (issue 12 follow-up): with the store down, a wrong code answered 503 and a
// right one 200 — an unlimited oracle. Now the wrong code is counted in memory, the session
// leaves memory (every later code answers 503 alike), and the failure reaches the store later.
TEST_F(AuthenticatorTest, AWrongCodeWhileTheStoreIsDownIsDeferredNotAnOracle) {
  ASSERT_TRUE(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))).value);
  world.store.SetFailing(true);
  world.health.CallFailed(Error::Unavailable("store: down for the test"), "test");
  std::optional<Outcome<Identity>> wrong =
      authenticator.VerifyInMemory(Credentials(session.access_token, WrongOtp(world, alice)));
  ASSERT_TRUE(wrong.has_value());
  ExpectFailure(*wrong, Rejection::kUnavailable, MessageCode::kServiceUnavailable, "");
  // The right code gets nothing else: from memory "needs the store", then 503 from the pool.
  EXPECT_FALSE(authenticator.VerifyInMemory(Credentials(session.access_token, world.Otp(alice))));
  ExpectFailure(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))),
                Rejection::kUnavailable, MessageCode::kServiceUnavailable, "");
  authenticator.FlushDeferredOtpFailures();  // still failing: kept
  world.store.SetFailing(false);
  world.health.Probed(true);
  authenticator.FlushDeferredOtpFailures();
  EXPECT_EQ((*world.store.FindSession(session.session_id))->otp_failure_times.size(), 1u);
  ASSERT_TRUE(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))).value);
}

TEST_F(AuthenticatorTest, MissingOrMalformedCredentials) {
  ExpectFailure(authenticator.Verify({Presence::kMissing, "", world.Otp(alice), 1}),
                Rejection::kUnauthorized, MessageCode::kRequired, "Authorization");
  ExpectFailure(authenticator.Verify({Presence::kMalformed, "", world.Otp(alice), 1}),
                Rejection::kUnauthorized, MessageCode::kTokenInvalid, "Authorization");
  ExpectFailure(authenticator.Verify(Credentials("not.a.jwt", world.Otp(alice))),
                Rejection::kUnauthorized, MessageCode::kTokenInvalid, "Authorization");
  ExpectFailure(authenticator.Verify({Presence::kBearer, session.access_token, "", 0}),
                Rejection::kUnauthorized, MessageCode::kRequired, "otp");
}

TEST_F(AuthenticatorTest, AnExpiredTokenAnswersAsExpired) {
  world.clock.Advance(world.settings.access_ttl_s);
  ExpectFailure(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))),
                Rejection::kUnauthorized, MessageCode::kTokenExpired, "Authorization");
}

TEST_F(AuthenticatorTest, ASuppressedAccountIsForbidden) {
  ASSERT_EQ(*world.store.SetStatus("alice", AccountStatus::kSuppressed, 0), UserUpdate::kUpdated);
  ExpectFailure(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))),
                Rejection::kForbidden, MessageCode::kAccountSuppressed, "");
}

TEST_F(AuthenticatorTest, WrongCodesAreCountedAndRevokeTheSessionAtTheLimit) {
  const int limit = world.settings.lockout.max_failed_attempts;
  for (int i = 0; i < limit; ++i) {
    ExpectFailure(authenticator.Verify(Credentials(session.access_token, WrongOtp(world, alice))),
                  Rejection::kUnauthorized, MessageCode::kOtpIncorrect, "otp");
  }
  EXPECT_TRUE((*world.store.FindSession(session.session_id))->revoked);
  ExpectFailure(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))),
                Rejection::kUnauthorized, MessageCode::kTokenInvalid, "Authorization");
}

TEST_F(AuthenticatorTest, WrongCodesAreCountedExactlyAtTheLimitUnderConcurrency) {
  // Warm caches and memos first, so the wrong codes race the fast path too.
  ASSERT_TRUE(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))).value);
  const int limit = world.settings.lockout.max_failed_attempts;
  std::atomic<int> told_incorrect{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 4; ++i) {
        Outcome<Identity> outcome =
            authenticator.Verify(Credentials(session.access_token, WrongOtp(world, alice)));
        if (outcome.error.code == MessageCode::kOtpIncorrect) ++told_incorrect;
        if (outcome.error.code == MessageCode::kTokenInvalid) ++refused;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(told_incorrect.load(), limit);  // exactly `limit` guesses were answered
  EXPECT_EQ(refused.load(), 32 - limit);
  EXPECT_TRUE((*world.store.FindSession(session.session_id))->revoked);
  EXPECT_FALSE(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))).value);
}

TEST_F(AuthenticatorTest, AFailingStoreOpensTheCircuitUntilAProbeSucceeds) {
  world.store.SetFailing(true);
  ExpectFailure(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))),
                Rejection::kUnavailable, MessageCode::kServiceUnavailable, "");
  EXPECT_FALSE(world.health.Up());
  EXPECT_EQ(world.health.errors(), 1u);
  // Healed, but nobody knows yet: 503 at once, without trying the store.
  world.store.SetFailing(false);
  const uint64_t calls = world.store.calls();
  ExpectFailure(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))),
                Rejection::kUnavailable, MessageCode::kServiceUnavailable, "");
  EXPECT_EQ(world.store.calls(), calls);
  world.health.Probed(true);
  EXPECT_TRUE(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))).value);
}

TEST_F(AuthenticatorTest, ARequestOtpFailureTheStoreCannotCountIsA503) {
  ASSERT_TRUE(authenticator.Verify(Credentials(session.access_token, world.Otp(alice))).value);
  world.store.SetFailing(true);
  ExpectFailure(authenticator.Verify(Credentials(session.access_token, WrongOtp(world, alice))),
                Rejection::kUnavailable, MessageCode::kServiceUnavailable, "");
  EXPECT_FALSE(world.health.Up());
}

}  // namespace
}  // namespace authgate
