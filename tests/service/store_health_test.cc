// StoreHealth (src/service/store_health.h): every store failure is logged with its operation
// and cause, one line per second per cause however many fail (issue 16), and a login whose
// store fails leaves no credential in the log.
#include "service/store_health.h"

#include <gtest/gtest.h>

#include "fake_clock.h"
#include "log_capture.h"
#include "service/login_flow.h"
#include "service_world.h"

namespace authgate {
namespace {

Error DiskFull() {
  Error error{"store: could not extend file: No space left on device (SQLSTATE 53100)",
              ErrorCode::kUnavailable};
  error.cause = "SQLSTATE 53100";
  return error;
}

TEST(StoreHealthTest, AThousandFailuresInASecondWriteOneLineAndTheNextCountsThem) {
  LogCapture log;
  FakeClock clock(1'700'000'000);
  StoreHealth health(clock);
  for (int i = 0; i < 1000; ++i) health.CallFailed(DiskFull(), "login: record failed attempt");
  EXPECT_EQ(health.errors(), 1000u);
  EXPECT_FALSE(health.Up());
  ASSERT_EQ(log.Lines().size(), 1u) << log.Text();
  EXPECT_EQ(log.Lines()[0],
            "[error] store failure: op=\"login: record failed attempt\" cause=\"SQLSTATE 53100\" "
            "suppressed=0: store: could not extend file: No space left on device (SQLSTATE 53100)");
  clock.Advance(1);
  health.WriteFailed(DiskFull(), "login: record failed attempt");
  ASSERT_EQ(log.Lines().size(), 2u) << log.Text();
  EXPECT_NE(log.Lines()[1].find("suppressed=999:"), std::string::npos) << log.Lines()[1];
}

TEST(StoreHealthTest, EachOperationAndCauseHasItsOwnLine) {
  LogCapture log;
  FakeClock clock(1'700'000'000);
  StoreHealth health(clock);
  health.CallFailed(DiskFull(), "login: admit attempt");
  health.CallFailed(DiskFull(), "refresh: rotate token");
  health.CallFailed(Error::Unavailable("store: gone"), "refresh: rotate token");
  health.CallFailed(Error::Unavailable("store: gone again"), "refresh: rotate token");
  EXPECT_EQ(log.Lines().size(), 3u) << log.Text();
  EXPECT_EQ(log.Lines("cause=\"unavailable\"").size(), 1u) << "no cause: the code names it";
}

TEST(StoreHealthTest, BackgroundFailuresAreLoggedButNotCounted) {
  LogCapture log;
  FakeClock clock(1'700'000'000);
  StoreHealth health(clock);
  health.BackgroundCallFailed(DiskFull(), "prune");
  EXPECT_EQ(health.errors(), 0u);
  EXPECT_TRUE(health.Up());
  EXPECT_EQ(log.Lines("op=\"prune\"").size(), 1u) << log.Text();
}

TEST(StoreHealthTest, AMessageOfSeveralLinesIsLoggedAsOne) {
  LogCapture log;
  FakeClock clock(1'700'000'000);
  StoreHealth health(clock);
  health.CallFailed(Error::Unavailable("store: refused\n\tIs the server running?"), "test");
  EXPECT_EQ(log.Lines().size(), 1u) << log.Text();
  EXPECT_NE(log.Text().find("refused  Is the server running?"), std::string::npos) << log.Text();
}

TEST(StoreHealthTest, AFailedLoginLogsItsOperationAndNoCredential) {
  LogCapture log;
  ServiceWorld world;
  InProcessVerifier passwords;
  LoginFlow flow(world.Context(), passwords);
  TestAccount alice = world.AddAccount("alice");
  world.store.SetFailing(true);
  const std::string otp = world.Otp(alice);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(flow.Login({"alice", "password-canary", otp}, "192.0.2.1").error.rejection,
              Rejection::kUnavailable);
    world.health.Probed(true);  // the probe closes the circuit again: each login tries the store
  }
  EXPECT_EQ(world.health.errors(), 100u);
  ASSERT_EQ(log.Lines("store failure").size(), 1u) << log.Text();
  EXPECT_NE(log.Text().find("op=\"login: admit attempt\""), std::string::npos) << log.Text();
  EXPECT_EQ(log.Text().find("password-canary"), std::string::npos);
  EXPECT_EQ(log.Text().find(otp), std::string::npos);
}

}  // namespace
}  // namespace authgate
