// SessionsFlow (src/service/sessions_flow.h): the caller's own live sessions, ending one (at once
// for every verify here), the one 404 for every id that is not the caller's, and the circuit.
#include "service/sessions_flow.h"

#include <gtest/gtest.h>

#include "service_world.h"

namespace authgate {
namespace {

RequestCredentials Credentials(const TestSession& of, const std::string& otp) {
  return {RequestCredentials::TokenPresence::kBearer, of.access_token, otp, 1};
}

class SessionsFlowTest : public ::testing::Test {
 protected:
  ServiceWorld world;
  Authenticator authenticator{world.Context()};
  SessionsFlow flow{world.Context(), authenticator};
  TestAccount alice = world.AddAccount("alice");
  TestAccount bob = world.AddAccount("bob");
  TestSession first = world.OpenSession(alice);
  TestSession second = world.OpenSession(alice);
  TestSession bobs = world.OpenSession(bob);
};

TEST_F(SessionsFlowTest, ListsTheCallersLiveSessionsAndMarksTheCurrentOne) {
  Outcome<SessionList> listed = flow.List(Credentials(second, world.Otp(alice)));
  ASSERT_TRUE(listed.value);
  EXPECT_EQ(listed.value->user_id, alice.id);
  EXPECT_EQ(listed.value->current, second.session_id);
  ASSERT_EQ(listed.value->sessions.size(), 2u);
  for (const SessionInfo& session : listed.value->sessions) {
    EXPECT_NE(session.id, bobs.session_id);
    EXPECT_EQ(session.expires_at, world.clock.NowSeconds() + world.settings.refresh_ttl_s);
  }
}

TEST_F(SessionsFlowTest, EndingASessionRefusesItsTokenAtOnce) {
  ASSERT_TRUE(authenticator.Verify(Credentials(first, world.Otp(alice))).value);  // memoised
  Outcome<Identity> ended = flow.End(Credentials(second, world.Otp(alice)), first.session_id,
                                     "192.0.2.1");
  ASSERT_TRUE(ended.value);
  EXPECT_EQ(ended.value->session_id, second.session_id);  // the caller's, not the ended one
  EXPECT_EQ(authenticator.Verify(Credentials(first, world.Otp(alice))).error.code,
            MessageCode::kTokenInvalid);
  EXPECT_TRUE(authenticator.Verify(Credentials(second, world.Otp(alice))).value);
  EXPECT_NE(world.AuditText().find("\"event\":\"session_ended\""), std::string::npos);
  EXPECT_EQ(flow.List(Credentials(second, world.Otp(alice))).value->sessions.size(), 1u);
}

TEST_F(SessionsFlowTest, AnyOtherIdIsNotFoundAndMalformedOnesNeverReachTheStore) {
  for (const std::string& id : {bobs.session_id, std::string(32, '0')}) {
    Outcome<Identity> ended = flow.End(Credentials(first, world.Otp(alice)), id, "192.0.2.1");
    EXPECT_EQ(ended.error.rejection, Rejection::kNotFound) << id;
    EXPECT_EQ(ended.error.code, MessageCode::kNotFound) << id;
  }
  EXPECT_FALSE((*world.store.FindSession(bobs.session_id))->revoked);
  for (const std::string& id : {std::string("x"), std::string(10000, 'a'),
                                std::string(32, 'A'), std::string()}) {
    uint64_t calls = world.store.calls();
    ASSERT_TRUE(authenticator.Authenticate(Credentials(first, world.Otp(alice)),
                                           world.clock.NowSeconds()).value);
    const uint64_t authenticating = world.store.calls() - calls;
    calls = world.store.calls();
    Outcome<Identity> ended = flow.End(Credentials(first, world.Otp(alice)), id, "192.0.2.1");
    EXPECT_EQ(ended.error.rejection, Rejection::kNotFound);
    EXPECT_EQ(world.store.calls() - calls, authenticating) << id;  // no EndSession
  }
}

// A refusal is audited as comparable refusals are: the caller, their address, and no more of
// the attacker's id than 64 bytes, however it is encoded (a character cut in two, quotes and
// controls are one '?' a byte: the log line has nothing to escape or replace).
TEST_F(SessionsFlowTest, ARefusedEndIsAuditedWithTheIdCut) {
  ASSERT_FALSE(flow.End(Credentials(first, world.Otp(alice)), bobs.session_id, "192.0.2.1").value);
  ASSERT_FALSE(
      flow.End(Credentials(first, world.Otp(alice)), std::string(10000, 'x'), "192.0.2.1").value);
  const std::string audit = world.AuditText();
  EXPECT_NE(audit.find("\"sessionId\":\"" + bobs.session_id + "\""), std::string::npos);
  EXPECT_NE(audit.find("\"sessionId\":\"" + std::string(64, 'x') + "\""), std::string::npos);
  EXPECT_EQ(audit.find(std::string(65, 'x')), std::string::npos);
  size_t refusals = 0;
  for (size_t at = audit.find("session_end_refused"); at != std::string::npos;
       at = audit.find("session_end_refused", at + 1)) {
    ++refusals;
  }
  EXPECT_EQ(refusals, 2u);
  EXPECT_NE(audit.find("\"userId\":" + std::to_string(alice.id)), std::string::npos);
}

TEST_F(SessionsFlowTest, ARefusedIdIsLoggedInAtMost64BytesWhateverItHolds) {
  const std::string cut_character = std::string(63, 'y') + "\xc3\xa9";  // é cut after its lead
  const std::string quotes = "\"\\\n\x01" + std::string(70, '"');
  for (const std::string& id : {cut_character, quotes}) {
    ASSERT_FALSE(flow.End(Credentials(first, world.Otp(alice)), id, "192.0.2.1").value);
  }
  const std::string audit = world.AuditText();
  EXPECT_NE(audit.find("\"sessionId\":\"" + std::string(63, 'y') + "?\""), std::string::npos);
  EXPECT_NE(audit.find("\"sessionId\":\"" + std::string(64, '?') + "\""), std::string::npos);
  EXPECT_EQ(audit.find("\\\""), std::string::npos);  // no escaped quote anywhere
}

TEST_F(SessionsFlowTest, TheCallerIsCheckedFirst) {
  Outcome<Identity> ended = flow.End(Credentials(first, world.Otp(alice, 5)), bobs.session_id,
                                     "192.0.2.1");
  EXPECT_EQ(ended.error.code, MessageCode::kOtpIncorrect);
  EXPECT_EQ(flow.List(Credentials(first, world.Otp(alice, 5))).error.code,
            MessageCode::kOtpIncorrect);
  EXPECT_FALSE((*world.store.FindSession(first.session_id))->revoked);
}

TEST_F(SessionsFlowTest, WhileTheStoreIsDownItAnswers503WithoutTryingIt) {
  world.health.CallFailed(Error::Unavailable("store: down for the test"), "test");
  const uint64_t calls = world.store.calls();
  EXPECT_EQ(flow.List(Credentials(first, world.Otp(alice))).error.rejection,
            Rejection::kUnavailable);
  EXPECT_EQ(flow.End(Credentials(first, world.Otp(alice)), second.session_id, "192.0.2.1")
                .error.rejection,
            Rejection::kUnavailable);
  EXPECT_EQ(world.store.calls(), calls);
}

TEST_F(SessionsFlowTest, AStoreThatFailsMidwayIs503AndOpensTheCircuit) {
  world.store.FailAfter(2);  // Authenticate's reads answer; the list does not
  EXPECT_EQ(flow.List(Credentials(first, world.Otp(alice))).error.rejection,
            Rejection::kUnavailable);
  EXPECT_FALSE(world.health.Up());
}

// Two sessions of one account, `advance` seconds after their login: each still verifies, both
// are listed as live until `live_for` seconds after the login, and one can end the other at once.
// Returns the session left and the account.
std::pair<TestSession, TestAccount> BothLiveThenOneEnded(ServiceWorld& world, int64_t advance,
                                                         int64_t live_for) {
  Authenticator authenticator{world.Context()};
  SessionsFlow flow{world.Context(), authenticator};
  const TestAccount alice = world.AddAccount("alice");
  const int64_t login = world.clock.NowSeconds();
  const TestSession phone = world.OpenSession(alice);
  const TestSession laptop = world.OpenSession(alice);
  world.clock.Advance(advance);

  EXPECT_TRUE(authenticator.Verify(Credentials(phone, world.Otp(alice))).value);
  Outcome<SessionList> listed = flow.List(Credentials(laptop, world.Otp(alice)));
  EXPECT_TRUE(listed.value);
  if (!listed.value) return {laptop, alice};
  EXPECT_EQ(listed.value->sessions.size(), 2u);
  for (const SessionInfo& session : listed.value->sessions) {
    EXPECT_EQ(session.expires_at, login + live_for);
  }
  EXPECT_TRUE(flow.End(Credentials(laptop, world.Otp(alice)), phone.session_id, "192.0.2.1").value);
  EXPECT_EQ(authenticator.Verify(Credentials(phone, world.Otp(alice))).error.code,
            MessageCode::kTokenInvalid);
  return {laptop, alice};
}

// tokens.refresh_ttl_s < access_ttl_s: once the refresh tokens have expired, the access tokens
// still authorize, so their sessions are still listed (until the access token's expiry) and can
// be ended.
TEST(SessionsFlowShortRefreshTest, SessionsLiveWhileTheirAccessTokensDo) {
  ServiceWorld world;
  world.settings.refresh_ttl_s = 60;
  world.settings.access_ttl_s = 3600;
  BothLiveThenOneEnded(world, 61, 3600);
}

// tokens.leeway_s: an access token past its exp but within the leeway still verifies, so its
// session is still listed and can be ended (attacker review: it was unlisted and 404 before).
TEST(SessionsFlowLeewayTest, SessionsLiveWhileTheirAccessTokensVerifyWithinTheLeeway) {
  ServiceWorld world;
  world.settings.refresh_ttl_s = 60;
  world.settings.access_ttl_s = 120;
  world.settings.jwt.leeway_s = 30;
  const auto [laptop, alice] = BothLiveThenOneEnded(world, 135, 150);  // past exp, in the leeway
  world.clock.Advance(15);  // the leeway is over
  Authenticator authenticator{world.Context()};
  EXPECT_EQ(authenticator.Verify(Credentials(laptop, world.Otp(alice))).error.code,
            MessageCode::kTokenExpired);
}

}  // namespace
}  // namespace authgate
