// When a session is live (SPEC §10.4): not revoked, and one of its tokens can still authorize —
// its current refresh token, or the last access token issued for it (at the login or at the
// last rotation, `access_ttl_s` long). With tokens.refresh_ttl_s < access_ttl_s the access token
// outlives the refresh token, and the session must stay listed and endable while it does. The
// store's SQL compares rows with LiveSessionHorizons and decides nothing else. Pure; any thread.
#pragma once

#include <cstdint>

namespace authgate {

struct SessionTimes {
  int64_t created_at = 0;          // the login: its access token was issued then
  int64_t refreshed_at = 0;        // the last rotation (its access token's issue); 0: none yet
  int64_t refresh_expires_at = 0;  // the current refresh token's expiry
};

// The first second at which the session is no longer live (unless revoked before): the later
// of its refresh token's expiry and its last access token's. What the API shows as expiresAt.
int64_t SessionLiveUntil(const SessionTimes& times, int64_t access_ttl_s);

// A session that is not revoked is live at `now` exactly when refresh_expires_at >
// refresh_expires_after, or created_at or refreshed_at > access_issued_after.
struct LiveSessionHorizons {
  int64_t refresh_expires_after = 0;
  int64_t access_issued_after = 0;
};

LiveSessionHorizons LiveSessionHorizonsAt(int64_t now, int64_t access_ttl_s);

}  // namespace authgate
