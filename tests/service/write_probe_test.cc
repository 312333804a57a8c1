// WriteProbe (src/service/write_probe.h) and the readiness it gives StoreHealth: each beat
// commits this instance's heartbeat; a store that reads but cannot write is not ready while its
// circuit stays closed, and a store that does not answer fails fast as before.
#include "service/write_probe.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "service/authenticator.h"
#include "service/change_follower.h"
#include "service/logout_flow.h"
#include "service_world.h"

namespace authgate {
namespace {

using std::chrono::steady_clock;

TEST(StoreHealthTest, ACommitKeepsTheStoreWritableForTwoSeconds) {
  FakeClock clock(1'700'000'000);
  StoreHealth health(clock);
  const steady_clock::time_point t0 = steady_clock::now();
  EXPECT_FALSE(health.Writable(t0));  // nothing committed yet
  EXPECT_FALSE(health.Ready(t0));
  health.WriteProbed(true, t0);
  EXPECT_TRUE(health.Ready(t0 + StoreHealth::kWritesFreshFor));
  // A commit that hangs: no verdict comes, and the last one grows stale.
  EXPECT_FALSE(health.Writable(t0 + StoreHealth::kWritesFreshFor + std::chrono::milliseconds(1)));
  health.WriteProbed(false, t0 + std::chrono::seconds(1));
  EXPECT_FALSE(health.Writable(t0 + std::chrono::seconds(1)));
  EXPECT_TRUE(health.Up());  // a write failure leaves the circuit alone
}

class WriteProbeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(follower.Poll()); }
  RequestCredentials Credentials(const std::string& otp) {
    return {RequestCredentials::TokenPresence::kBearer, session.access_token, otp, 1};
  }
  bool Ready() const { return world.health.Ready(steady_clock::now()); }
  // Both probes, as their threads run them: {reads answered, a heartbeat committed}.
  std::pair<bool, bool> ProbeBoth() {
    const bool read = follower.Poll();
    return {read, probe.Beat()};
  }

  ServiceWorld world;
  ChangeFollower follower{world.store, world.keys, world.cache, world.health, world.clock, {}};
  WriteProbe probe{world.store, world.health, world.clock, {.instance_id = "host/42/abcd"}};
  Authenticator authenticator{world.Context()};
  LogoutFlow logout{world.Context(), authenticator};
  TestAccount alice = world.AddAccount("alice");
  TestSession session = world.OpenSession(alice);
};

TEST_F(WriteProbeTest, EachBeatCommitsTheInstancesHeartbeat) {
  EXPECT_FALSE(Ready());
  ASSERT_TRUE(probe.Beat());
  EXPECT_TRUE(Ready());
  world.clock.Advance(1);
  ASSERT_TRUE(probe.Beat());
  EXPECT_EQ(world.store.heartbeats(),
            (std::map<std::string, int64_t>{{"host/42/abcd", world.clock.NowSeconds()}}));
}

// A full disk: reads answer, nothing commits. Not ready; what only reads goes on.
TEST_F(WriteProbeTest, WritesFailingAloneMakeTheStoreUnreadyAndLeaveReadsServed) {
  ASSERT_EQ(ProbeBoth(), std::make_pair(true, true));
  world.store.SetWritesFailing(true);
  EXPECT_EQ(ProbeBoth(), std::make_pair(true, false));
  EXPECT_FALSE(Ready());
  EXPECT_TRUE(world.health.Up());
  EXPECT_TRUE(authenticator.Verify(Credentials(world.Otp(alice))).value);  // a cold verify: reads
  EXPECT_TRUE(authenticator.VerifyInMemory(Credentials(world.Otp(alice)))->value);  // cached
  // What writes fails on its own, and opens the circuit until the next read probe, as before.
  EXPECT_EQ(logout.Logout(Credentials(world.Otp(alice)), "192.0.2.1").error.rejection,
            Rejection::kUnavailable);
  EXPECT_FALSE(world.health.Up());
  EXPECT_TRUE(follower.Poll());
  EXPECT_TRUE(world.health.Up());
  EXPECT_FALSE(Ready());

  world.store.SetWritesFailing(false);
  EXPECT_TRUE(probe.Beat());
  EXPECT_TRUE(Ready());
}

// A store that does not answer at all: both probes fail, and work that needs the store is
// refused at once, without a store call (the circuit of SPEC §10.1, unchanged).
TEST_F(WriteProbeTest, AStoreDownFailsFastAsBefore) {
  ASSERT_EQ(ProbeBoth(), std::make_pair(true, true));
  world.store.SetFailing(true);
  EXPECT_EQ(ProbeBoth(), std::make_pair(false, false));
  EXPECT_FALSE(Ready());
  const uint64_t calls = world.store.calls();
  EXPECT_EQ(authenticator.Verify(Credentials(world.Otp(alice))).error.rejection,
            Rejection::kUnavailable);
  EXPECT_EQ(logout.Logout(Credentials(world.Otp(alice)), "192.0.2.1").error.rejection,
            Rejection::kUnavailable);
  EXPECT_EQ(world.store.calls(), calls);
  world.store.SetFailing(false);
  EXPECT_TRUE(probe.Beat());
  EXPECT_FALSE(Ready());  // writes commit, but only a read probe closes the circuit
  EXPECT_TRUE(follower.Poll());
  EXPECT_TRUE(Ready());
}

TEST_F(WriteProbeTest, LogsOnceWhenWritesFailAndOnceWhenTheyCommitAgain) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(32);
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("write_probe_test", sink));
  world.store.SetWritesFailing(true);
  for (int beat = 0; beat < 5; ++beat) EXPECT_FALSE(probe.Beat());
  world.store.SetWritesFailing(false);
  for (int beat = 0; beat < 5; ++beat) EXPECT_TRUE(probe.Beat());
  spdlog::set_default_logger(previous);
  const std::vector<std::string> lines = sink->last_formatted();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("store: writes fail"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("disk is full"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("store: writes commit again"), std::string::npos) << lines[1];
}

}  // namespace
}  // namespace authgate
