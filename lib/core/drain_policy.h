// The drain policy: observed rows in, verdicts out. Pure functions, no I/O, so every rule is
// unit-tested without a database.
//
// Rules (docs/concepts.md, "What drained means"):
//  - A version is drained when it is known and has no PENDING, ENQUEUED, DELAYED or SUSPENDED
//    workflow and no workflow of a status dbos-drain does not know (its own or NULL-version ones:
//    those block every version, since which version takes them depends on the SDK generation).
//  - Known: registered in application_versions, or some workflow_status row carries it.
//  - An unknown version is not drained (a typo must never retire pods), unless the caller opts
//    out with PolicyOptions::unknown_version_drained.
//  - Latest: highest version_timestamp in application_versions, per application scope (the SDKs
//    read their own application_name or NULL): with several applications in one database each
//    has its latest, and every one of them is `latest`; a version owned by no application is in
//    every scope, and then the highest of all is a latest too. Report::latest_version is set only
//    when that is one version. Rows with a NULL version can be taken by the latest version, so
//    they count toward it (when it is one version) and never block another version.
//  - The version PATCHING_ENABLED is flagged: with patching, versions do not separate deployments.
//  - On a standby whose data is older than --max-replica-lag (or of unknown age), no version is
//    drained: `reason` starts with the replica's reason (issue 15).
#pragma once

#include <cstdint>
#include <chrono>
#include <string>

#include "model.h"
#include "version_listing.h"

namespace dbos_drain {

struct PolicyOptions {
  bool unknown_version_drained = false;  // --unknown-version=drained
  int64_t quiet_period_ms = 120'000;     // --quiet-period (retire_policy.h)
  // --max-replica-lag: on a standby further behind than this (or of unknown lag), no version is
  // drained (replica_lag.h).
  std::chrono::milliseconds max_replica_lag{10000};
  // --show-recent: a version registered within this long stays in the default listing even when
  // it is safe to retire (version_listing.h).
  int64_t show_recent_ms = kDefaultShowRecentMs;
};

inline constexpr const char* kPatchingVersion = "PATCHING_ENABLED";

// Builds the report for every version the snapshot knows about, with the derived values
// (oldest age, unassigned not queued, the index by version) and the retire verdict
// (retire_policy.h, over snapshot.window_ms) computed once, so readers only read.
Report BuildReport(const Snapshot& snapshot, const PolicyOptions& options);

// The entry for `version`: the report's own, or a synthesized "unknown" entry.
VersionReport FindVersion(const Report& report, const std::string& version,
                          const PolicyOptions& options);

// A one-line human summary, e.g. "v1 not drained: 3 pending, 4 enqueued (tasks), oldest 2h 5m".
std::string SummaryLine(const VersionReport& version, int64_t as_of_ms);

}  // namespace dbos_drain
