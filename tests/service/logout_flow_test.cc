// LogoutFlow (src/service/logout_flow.h): the full check, the revocation reaching the verify
// path at once, and the store circuit.
#include "service/logout_flow.h"

#include <gtest/gtest.h>

#include "service_world.h"

namespace authgate {
namespace {

class LogoutFlowTest : public ::testing::Test {
 protected:
  RequestCredentials Credentials(const std::string& otp) {
    return {RequestCredentials::TokenPresence::kBearer, session.access_token, otp, 1};
  }

  ServiceWorld world;
  Authenticator authenticator{world.Context()};
  LogoutFlow flow{world.Context(), authenticator};
  TestAccount alice = world.AddAccount("alice");
  TestSession session = world.OpenSession(alice);
};

TEST_F(LogoutFlowTest, RevokesTheSessionForEveryVerifyAtOnce) {
  ASSERT_TRUE(authenticator.Verify(Credentials(world.Otp(alice))).value);  // memoised
  Outcome<Identity> outcome = flow.Logout(Credentials(world.Otp(alice)), "192.0.2.1");
  ASSERT_TRUE(outcome.value);
  EXPECT_EQ(outcome.value->session_id, session.session_id);
  EXPECT_TRUE((*world.store.FindSession(session.session_id))->revoked);
  EXPECT_EQ(authenticator.Verify(Credentials(world.Otp(alice))).error.code,
            MessageCode::kTokenInvalid);
}

TEST_F(LogoutFlowTest, AWrongCodeIsCountedAndRevokesNothing) {
  Outcome<Identity> outcome = flow.Logout(Credentials(world.Otp(alice, 5)), "192.0.2.1");
  EXPECT_EQ(outcome.error.code, MessageCode::kOtpIncorrect);
  std::optional<SessionRecord> stored = *world.store.FindSession(session.session_id);
  EXPECT_FALSE(stored->revoked);
  EXPECT_EQ(stored->otp_failure_times.size(), 1u);
}

TEST_F(LogoutFlowTest, WhileTheStoreIsDownItAnswers503WithoutTryingIt) {
  world.health.CallFailed(Error::Unavailable("store: down for the test"), "test");
  const uint64_t calls = world.store.calls();
  EXPECT_EQ(flow.Logout(Credentials(world.Otp(alice)), "192.0.2.1").error.rejection,
            Rejection::kUnavailable);
  EXPECT_EQ(world.store.calls(), calls);
}

}  // namespace
}  // namespace authgate
