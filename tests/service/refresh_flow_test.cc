// RefreshFlow (src/service/refresh_flow.h): each rotation outcome's answer, reuse detection
// reaching the verify path at once, and the store circuit.
#include "service/refresh_flow.h"

#include <gtest/gtest.h>

#include "service/authenticator.h"
#include "service_world.h"

namespace authgate {
namespace {

class RefreshFlowTest : public ::testing::Test {
 protected:
  Outcome<TokenGrant> Refresh(const std::string& token) {
    return flow.Refresh({token}, "192.0.2.1");
  }
  void ExpectInvalid(const Outcome<TokenGrant>& outcome) {
    ASSERT_FALSE(outcome.value);
    EXPECT_EQ(outcome.error.rejection, Rejection::kUnauthorized);
    EXPECT_EQ(outcome.error.code, MessageCode::kTokenInvalid);
    EXPECT_EQ(outcome.error.field, "refreshToken");
  }

  ServiceWorld world;
  RefreshFlow flow{world.Context()};
  TestAccount alice = world.AddAccount("alice");
  TestSession session = world.OpenSession(alice);
};

TEST_F(RefreshFlowTest, ACurrentTokenRotates) {
  Outcome<TokenGrant> outcome = Refresh(session.refresh_token);
  ASSERT_TRUE(outcome.value);
  EXPECT_EQ(outcome.value->user_id, alice.id);
  EXPECT_NE(outcome.value->refresh_token, session.refresh_token);
  EXPECT_TRUE(Refresh(outcome.value->refresh_token).value);  // the new one is current
}

TEST_F(RefreshFlowTest, AnUnknownTokenIsInvalid) { ExpectInvalid(Refresh("no such token")); }

// core/refresh_token.h: "<id>.<secret>". A token's id with another secret is unknown (and
// revokes nothing); a token no spelling of which this server issues is refused unread.
TEST_F(RefreshFlowTest, ATokenIsItsIdAndItsSecret) {
  const size_t dot = session.refresh_token.find('.');
  ASSERT_NE(dot, std::string::npos);
  const std::string id = session.refresh_token.substr(0, dot);
  const std::string secret = session.refresh_token.substr(dot + 1);
  ExpectInvalid(Refresh(id + "." + secret + "x"));
  ExpectInvalid(Refresh(secret));  // the secret alone: a token of before ids, not stored
  ExpectInvalid(Refresh("0" + id + "." + secret));  // not the canonical id
  const uint64_t calls = world.store.calls();
  ExpectInvalid(Refresh(id + ".." + secret));
  EXPECT_EQ(world.store.calls(), calls);  // malformed: the store was not asked
  EXPECT_FALSE((*world.store.FindSession(session.session_id))->revoked);
  Outcome<TokenGrant> rotated = Refresh(session.refresh_token);
  ASSERT_TRUE(rotated.value);
  EXPECT_NE(rotated.value->refresh_token.find('.'), std::string::npos);
}

TEST_F(RefreshFlowTest, AnExpiredTokenIsInvalid) {
  world.clock.Advance(world.settings.refresh_ttl_s);
  ExpectInvalid(Refresh(session.refresh_token));
}

TEST_F(RefreshFlowTest, ReuseRevokesTheSessionAndItsAccessTokensAtOnce) {
  Authenticator authenticator(world.Context());
  const std::string code = world.Otp(alice);  // outlives the credentials' view of it
  const RequestCredentials credentials{RequestCredentials::TokenPresence::kBearer,
                                       session.access_token, code, 1};
  ASSERT_TRUE(authenticator.Verify(credentials).value);  // cached and memoised
  Outcome<TokenGrant> rotated = Refresh(session.refresh_token);
  ASSERT_TRUE(rotated.value);
  ExpectInvalid(Refresh(session.refresh_token));  // the rotated token again: reuse
  EXPECT_TRUE((*world.store.FindSession(session.session_id))->revoked);
  EXPECT_FALSE(authenticator.Verify(credentials).value);
  ExpectInvalid(Refresh(rotated.value->refresh_token));  // revoked with its session
}

TEST_F(RefreshFlowTest, ABlockedAccountIsToldItsStatus) {
  ASSERT_EQ(*world.store.SetStatus("alice", AccountStatus::kSuppressed, 0), UserUpdate::kUpdated);
  Outcome<TokenGrant> outcome = Refresh(session.refresh_token);
  ASSERT_FALSE(outcome.value);
  EXPECT_EQ(outcome.error.rejection, Rejection::kBadRequest);
  EXPECT_EQ(outcome.error.code, MessageCode::kAccountSuppressed);
  ASSERT_EQ(*world.store.SetStatus("alice", AccountStatus::kActive, 0), UserUpdate::kUpdated);
  EXPECT_TRUE(Refresh(session.refresh_token).value);  // nothing was rotated
}

TEST_F(RefreshFlowTest, AFailingStoreAnswers503AndOpensTheCircuit) {
  world.store.SetFailing(true);
  EXPECT_EQ(Refresh(session.refresh_token).error.code, MessageCode::kServiceUnavailable);
  EXPECT_FALSE(world.health.Up());
  world.store.SetFailing(false);
  const uint64_t calls = world.store.calls();
  EXPECT_EQ(Refresh(session.refresh_token).error.rejection, Rejection::kUnavailable);
  EXPECT_EQ(world.store.calls(), calls);
}

// SPEC §10.2, with a 10 s replay window.
class RefreshReplayTest : public RefreshFlowTest {
 protected:
  RefreshReplayTest() {
    world.settings.refresh_reuse_window_s = 10;
    windowed = std::make_unique<RefreshFlow>(world.Context());
  }
  Outcome<TokenGrant> Refresh(const std::string& token) {
    return windowed->Refresh({token}, "192.0.2.1");
  }
  std::unique_ptr<RefreshFlow> windowed;
};

TEST_F(RefreshReplayTest, AReplayWithinTheWindowGetsTheFirstAnswerByteForByte) {
  Outcome<TokenGrant> first = Refresh(session.refresh_token);
  ASSERT_TRUE(first.value);
  world.clock.Advance(10);
  Outcome<TokenGrant> again = Refresh(session.refresh_token);
  ASSERT_TRUE(again.value);
  EXPECT_EQ(again.value->access_token, first.value->access_token);
  EXPECT_EQ(again.value->refresh_token, first.value->refresh_token);
  EXPECT_EQ(again.value->expires_in, first.value->expires_in);
  EXPECT_EQ(again.value->refresh_expires_in, first.value->refresh_expires_in);
  // Exactly one rotation: the answer's refresh token is the current one, and rotates.
  Outcome<TokenGrant> next = Refresh(first.value->refresh_token);
  ASSERT_TRUE(next.value);
  EXPECT_NE(next.value->access_token, first.value->access_token);
}

TEST_F(RefreshReplayTest, AfterTheWindowOrTwoGenerationsLaterItIsReuse) {
  Outcome<TokenGrant> first = Refresh(session.refresh_token);
  ASSERT_TRUE(first.value);
  ASSERT_TRUE(Refresh(first.value->refresh_token).value);
  ExpectInvalid(Refresh(session.refresh_token));  // two generations old: the session ends
  ExpectInvalid(Refresh(first.value->refresh_token));  // ... and so did the current token's
  TestSession other = world.OpenSession(alice);
  Outcome<TokenGrant> rotated = Refresh(other.refresh_token);
  ASSERT_TRUE(rotated.value);
  world.clock.Advance(11);
  ExpectInvalid(Refresh(other.refresh_token));  // after the window: reuse
  ExpectInvalid(Refresh(rotated.value->refresh_token));
}

TEST_F(RefreshFlowTest, WithoutAWindowTheFirstReplayIsReuse) {
  ASSERT_TRUE(Refresh(session.refresh_token).value);
  ExpectInvalid(Refresh(session.refresh_token));
  ExpectInvalid(Refresh(session.refresh_token));
}

}  // namespace
}  // namespace authgate
