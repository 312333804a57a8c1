#include "service/write_probe.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace authgate {

WriteProbe::WriteProbe(Store& store, StoreHealth& health, const Clock& clock, Settings settings)
    : store_(store), health_(health), clock_(clock), settings_(std::move(settings)) {}

bool WriteProbe::Beat() {
  const Status beat = store_.Heartbeat(settings_.instance_id, clock_.NowSeconds());
  health_.WriteProbed(beat.ok(), std::chrono::steady_clock::now());
  LogTransition(beat);
  return beat.ok();
}

void WriteProbe::Start() {
  thread_.Start(settings_.interval, [this] { Beat(); });
}

void WriteProbe::LogTransition(const Status& beat) {
  if (beat.ok() == committing_) return;
  committing_ = beat.ok();
  if (beat.ok()) {
    spdlog::info("store: writes commit again");
  } else {
    spdlog::warn("store: writes fail, /readyz answers 503 until one commits: {}", beat.error());
  }
}

}  // namespace authgate
