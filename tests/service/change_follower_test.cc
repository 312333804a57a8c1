// ChangeFollower (src/service/change_follower.h): changes made elsewhere drop exactly the
// entries they concern, key changes reload the keys, and each poll is StoreHealth's probe.
#include "service/change_follower.h"

#include <gtest/gtest.h>

#include "service/authenticator.h"
#include <deque>
#include <string>

#include "service_world.h"

namespace authgate {
namespace {

class ChangeFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(follower.Poll()); }
  // RequestCredentials holds views: the codes it points to live in `codes`.
  RequestCredentials Credentials(const TestSession& session, const TestAccount& account) {
    codes.push_back(world.Otp(account));
    return {RequestCredentials::TokenPresence::kBearer, session.access_token, codes.back(), 1};
  }
  std::deque<std::string> codes;

  ServiceWorld world;
  ChangeFollower follower{world.store, world.keys, world.cache, world.health, world.clock, {}};
  Authenticator authenticator{world.Context()};
  TestAccount alice = world.AddAccount("alice");
  TestAccount bob = world.AddAccount("bob");
  TestSession alices = world.OpenSession(alice);
  TestSession bobs = world.OpenSession(bob);
};

TEST_F(ChangeFollowerTest, AUserChangeDropsThatUserAndItsSessionsOnly) {
  ASSERT_TRUE(authenticator.Verify(Credentials(alices, alice)).value);
  ASSERT_TRUE(authenticator.Verify(Credentials(bobs, bob)).value);
  ASSERT_EQ(*world.store.SetStatus("alice", AccountStatus::kSuppressed, 0), UserUpdate::kUpdated);  // elsewhere
  ASSERT_TRUE(follower.Poll());
  EXPECT_EQ(world.cache.FindUser(alice.id), nullptr);
  EXPECT_FALSE(world.cache.FindSession(alices.session_id));
  EXPECT_NE(world.cache.FindUser(bob.id), nullptr);
  EXPECT_TRUE(world.cache.FindSession(bobs.session_id));
  EXPECT_EQ(authenticator.Verify(Credentials(alices, alice)).error.code,
            MessageCode::kAccountSuppressed);
  const uint64_t calls = world.store.calls();
  EXPECT_TRUE(authenticator.VerifyInMemory(Credentials(bobs, bob))->value);
  EXPECT_EQ(world.store.calls(), calls);
}

TEST_F(ChangeFollowerTest, ASessionChangeDropsThatSessionOnly) {
  ASSERT_TRUE(authenticator.Verify(Credentials(alices, alice)).value);
  ASSERT_TRUE(authenticator.Verify(Credentials(bobs, bob)).value);
  ASSERT_EQ(*world.store.RevokeSession(alices.session_id, 0), SessionEnd::kEnded);  // elsewhere
  EXPECT_TRUE(authenticator.VerifyInMemory(Credentials(alices, alice))->value);  // not yet known
  ASSERT_TRUE(follower.Poll());
  EXPECT_FALSE(world.cache.FindSession(alices.session_id));
  EXPECT_NE(world.cache.FindUser(alice.id), nullptr);
  EXPECT_TRUE(world.cache.FindSession(bobs.session_id));
  EXPECT_EQ(authenticator.Verify(Credentials(alices, alice)).error.code,
            MessageCode::kTokenInvalid);
}

TEST_F(ChangeFollowerTest, AKeyChangeReloadsTheKeysAndForgetsEveryToken) {
  ASSERT_TRUE(authenticator.Verify(Credentials(alices, alice)).value);
  KeyRing elsewhere(world.store, world.box, world.settings.jwt.alg, world.settings.access_ttl_s);
  ASSERT_TRUE(elsewhere.Rotate(world.clock.NowSeconds()));
  const std::string old_kid = world.keys.Snapshot()->keys.begin()->first;
  ASSERT_TRUE(follower.Poll());
  EXPECT_EQ(world.cache.FindToken(alices.access_token), nullptr);
  EXPECT_EQ(world.keys.Snapshot()->keys.size(), 2u);
  EXPECT_NE(world.keys.Snapshot()->signing->kid, old_kid);
  EXPECT_TRUE(authenticator.Verify(Credentials(alices, alice)).value);  // retired keys verify
}

TEST_F(ChangeFollowerTest, EachPollIsTheStoresProbe) {
  world.health.CallFailed(Error::Unavailable("store: down for the test"), "test");
  ASSERT_TRUE(follower.Poll());
  EXPECT_TRUE(world.health.Up());  // the only way the circuit closes
  world.store.SetFailing(true);
  EXPECT_FALSE(follower.Poll());
  EXPECT_FALSE(world.health.Up());
  world.store.SetFailing(false);
  EXPECT_TRUE(follower.Poll());
  EXPECT_TRUE(world.health.Up());
}

TEST_F(ChangeFollowerTest, ChangesMissedWhileTheStoreWasDownAreAppliedAfter) {
  ASSERT_TRUE(authenticator.Verify(Credentials(alices, alice)).value);
  world.store.SetFailing(true);
  EXPECT_FALSE(follower.Poll());
  world.store.SetFailing(false);
  ASSERT_EQ(*world.store.RevokeSession(alices.session_id, 0), SessionEnd::kEnded);
  ASSERT_TRUE(follower.Poll());
  EXPECT_FALSE(world.cache.FindSession(alices.session_id));
}

}  // namespace
}  // namespace authgate
