// The report cache's probe bookkeeping (serve/report_cache.h, "watched" versions), as a plain
// value without threads or clock reads: which versions callers asked about and the report does
// not show, which of them are due for a lookup in workflow history, and what the last lookups
// found. The cache holds one under its mutex.
//
// Rules:
//  - A version is watched when a caller asks about it and the report does not show it, while
//    fewer than `max` are watched; asking again keeps it watched. Nobody asking for 10 minutes
//    drops it.
//  - A watched version is due for a probe when it was never probed, or probed at least
//    `probe_interval` ago.
//  - A version a probe found keeps being reported as having history (AddFoundTo) until a later
//    probe says otherwise or the results are forgotten (the database was lost).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model.h"
#include "refresh_plan.h"

namespace dbos_drain {

inline constexpr std::chrono::minutes kWatchExpiry{10};

class WatchedVersions {
 public:
  WatchedVersions(size_t max, std::chrono::milliseconds probe_interval) : max_(max), probe_interval_(probe_interval) {}

  // A caller asked about `version`; `in_report`: the current report shows it.
  void Asked(const std::string& version, bool in_report, SteadyTime now);

  // Drops versions nobody asked about for kWatchExpiry; returns the ones due for a probe.
  std::vector<std::string> DueForProbe(SteadyTime now);

  // A read succeeded: what its history lookup covered and found.
  void RecordProbes(const Snapshot& snapshot, SteadyTime at);
  // A read timed out while probing `probed`: they are not probed again for probe_interval and
  // stay as they were.
  void DeferProbes(const std::vector<std::string>& probed, SteadyTime at);
  // The database was lost: forget what probes found; every version is probed afresh.
  void ForgetProbeResults();

  // Adds to `snapshot.versions_with_history` the versions an earlier probe found that this
  // snapshot did not probe.
  void AddFoundTo(Snapshot& snapshot) const;

  bool watching(const std::string& version) const { return watches_.count(version) > 0; }
  size_t size() const { return watches_.size(); }

 private:
  struct Watch {
    SteadyTime last_asked{};
    std::optional<SteadyTime> last_probed;
    bool found = false;
  };

  size_t max_;
  std::chrono::milliseconds probe_interval_;
  std::map<std::string, Watch> watches_;
};

}  // namespace dbos_drain
