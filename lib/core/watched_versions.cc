#include "watched_versions.h"

namespace dbos_drain {

void WatchedVersions::Asked(const std::string& version, bool in_report, SteadyTime now) {
  auto it = watches_.find(version);
  if (it != watches_.end()) {
    it->second.last_asked = now;
  } else if (!in_report && watches_.size() < max_) {
    watches_[version].last_asked = now;
  }
}

std::vector<std::string> WatchedVersions::DueForProbe(SteadyTime now) {
  std::vector<std::string> out;
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (now - it->second.last_asked > kWatchExpiry) {
      it = watches_.erase(it);
      continue;
    }
    if (!it->second.last_probed || now - *it->second.last_probed >= probe_interval_) out.push_back(it->first);
    ++it;
  }
  return out;
}

void WatchedVersions::RecordProbes(const Snapshot& snapshot, SteadyTime at) {
  for (const auto& name : snapshot.versions_probed) {
    auto it = watches_.find(name);
    if (it == watches_.end()) continue;
    it->second.last_probed = at;
    it->second.found = snapshot.versions_with_history.count(name) > 0;
  }
}

void WatchedVersions::DeferProbes(const std::vector<std::string>& probed, SteadyTime at) {
  for (const auto& name : probed) {
    auto it = watches_.find(name);
    if (it != watches_.end()) it->second.last_probed = at;
  }
}

void WatchedVersions::ForgetProbeResults() {
  for (auto& [name, watch] : watches_) {
    watch.found = false;
    watch.last_probed.reset();
  }
}

void WatchedVersions::AddFoundTo(Snapshot& snapshot) const {
  for (const auto& [name, w] : watches_) {
    if (w.found && !snapshot.versions_probed.count(name)) snapshot.versions_with_history.insert(name);
  }
}

}  // namespace dbos_drain
