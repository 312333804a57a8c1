#include "service/change_follower.h"

#include <charconv>

#include <spdlog/spdlog.h>

namespace authgate {

ChangeFollower::ChangeFollower(Store& store, KeyRing& keys, VerifyCache& cache,
                               StoreHealth& health, const Clock& clock, Settings settings)
    : store_(store),
      keys_(keys),
      cache_(cache),
      health_(health),
      clock_(clock),
      settings_(settings) {}

bool ChangeFollower::Poll() {
  if (seen_seq_ < 0) {
    Result<int64_t> latest = store_.LatestChangeSeq();
    health_.Probed(latest.ok());
    if (!latest) return Failed(latest.failure(), "follow changes: find the log's end");
    seen_seq_ = *latest;
    return true;
  }
  Result<std::vector<Change>> changes = store_.ChangesSince(seen_seq_);
  health_.Probed(changes.ok());
  if (!changes) return Failed(changes.failure(), "follow changes: read the log");
  return Apply(*changes);
}

bool ChangeFollower::Apply(const std::vector<Change>& changes) {
  int64_t seen = seen_seq_;
  bool keys_changed = false;
  for (const Change& change : changes) {
    switch (change.kind) {
      case ChangeKind::kUser: {
        int64_t id = 0;
        auto parsed = std::from_chars(change.ref.data(), change.ref.data() + change.ref.size(), id);
        if (parsed.ec == std::errc()) cache_.InvalidateUser(id);
        else cache_.Clear();
        break;
      }
      case ChangeKind::kSession: cache_.InvalidateSession(change.ref); break;
      case ChangeKind::kKeys: keys_changed = true; break;
    }
    seen = change.seq;
  }
  if (keys_changed) {
    // Not marked as seen: the next poll reads these changes again and retries the reload.
    Status loaded = keys_.Load();
    if (!loaded) return Failed(loaded.failure(), "follow changes: reload signing keys");
    cache_.ForgetKeys();
  }
  seen_seq_ = seen;
  return true;
}

void ChangeFollower::Start() {
  thread_.Start(settings_.poll_interval, [this] { Follow(); });
}

void ChangeFollower::Follow() {
  const bool ok = Poll();
  LogTransition(ok);
  if (ok && settings_.after_successful_poll) settings_.after_successful_poll();
  const int64_t now = clock_.NowSeconds();
  if (now - last_prune_ >= settings_.prune_interval_s) {
    Status pruned = store_.Prune(now, settings_.access_ttl_s, settings_.lockout);
    if (!pruned) health_.BackgroundCallFailed(pruned.failure(), "prune");
    last_prune_ = now;
  }
}

bool ChangeFollower::Failed(const Error& error, std::string_view operation) {
  health_.BackgroundCallFailed(error, operation);
  return false;
}

void ChangeFollower::LogTransition(bool ok) {
  if (ok == following_) return;
  if (ok) spdlog::info("store: change log readable again");
  else spdlog::warn("store: cannot read the change log (store unreachable?)");
  following_ = ok;
}

}  // namespace authgate
