// Session liveness (src/core/session_liveness.h): what the sessions API lists and ends.
#include "core/session_liveness.h"

#include <gtest/gtest.h>

namespace authgate {
namespace {

constexpr int64_t kNow = 1700000000;
constexpr int64_t kAccessTtl = 3600;

// The predicate of the store's sessions queries, spelled here as the SQL spells it.
bool LiveBySql(const SessionTimes& t, const LiveSessionHorizons& h) {
  return t.refresh_expires_at > h.refresh_expires_after || t.created_at > h.access_issued_after ||
         t.refreshed_at > h.access_issued_after;
}

TEST(SessionLivenessTest, TheSqlPredicateIsLiveUntil) {
  const LiveSessionHorizons h = LiveSessionHorizonsAt(kNow, kAccessTtl);
  for (int64_t created : {kNow - 7200, kNow - 3601, kNow - 3600, kNow - 3599, kNow}) {
    for (int64_t refreshed : {int64_t{0}, kNow - 3601, kNow - 3600, kNow - 3599}) {
      if (refreshed != 0 && refreshed < created) continue;
      for (int64_t expires : {kNow - 1, kNow, kNow + 1}) {
        const SessionTimes t{created, refreshed, expires};
        EXPECT_EQ(LiveBySql(t, h), SessionLiveUntil(t, kAccessTtl) > kNow)
            << created << " " << refreshed << " " << expires;
      }
    }
  }
}

TEST(SessionLivenessTest, TheLaterOfTheRefreshAndTheLastAccessTokenEndsIt) {
  // refresh_ttl_s 60 < access_ttl_s 3600: the access token of the login outlives the refresh.
  EXPECT_EQ(SessionLiveUntil({kNow, 0, kNow + 60}, kAccessTtl), kNow + 3600);
  // Rotated at kNow + 50: that rotation's access token.
  EXPECT_EQ(SessionLiveUntil({kNow, kNow + 50, kNow + 110}, kAccessTtl), kNow + 3650);
  // The usual way round: the refresh token outlives every access token.
  EXPECT_EQ(SessionLiveUntil({kNow, kNow + 50, kNow + 86450}, kAccessTtl), kNow + 86450);
}

}  // namespace
}  // namespace authgate
