// The retire verdict: may the pods of a version be deleted now? A pure function of one snapshot,
// stricter than `drained` (drain_policy.h), which only says "nothing in flight at as_of".
//
// Rules (docs/concepts.md, "Drained vs safe to retire"):
//  - safe_to_retire = known, not the latest version, not PATCHING_ENABLED, nothing in flight,
//    not stuck, and no workflow of the version created within the quiet period (the window
//    [as_of - quiet_period, as_of], as_of being the database's now()). A version's pods keep
//    starting work until they are deleted (request handlers, timers, receivers, legacy cron), so
//    "nothing in flight" alone is seen between two short workflows of a busy version.
//  - blockers: one {code, message} per reason, empty exactly when safe. Codes: unknown_version,
//    latest, patching, in_flight, recent_intake, stuck, intake_unread (the snapshot did not read
//    the starts of the whole quiet period: never guessed as "none"), replica_lag (the data comes
//    from a standby past --max-replica-lag or of unknown lag, replica_lag.h: every version gets it,
//    phase unknown and eta null, since work started on the primary since may not be visible),
//    unknown_status (rows of V, or NULL-version rows, of a status that is neither a known finished
//    nor a known in-flight one: phase unknown), statuses_unchecked (the status check,
//    status_ledger.h, has not succeeded: phase unknown). SUSPENDED rows are in flight.
//  - retire_hold = in flight (SUSPENDED included) + unknown-status rows + started within the
//    window, at least 1 when not safe, 0 when safe.
//  - phase, by precedence: unknown, latest, stuck, active (started within the window), draining
//    (in flight, no start within the window), drained.
//  - Executors: `connected` is known only when the snapshot shows the TypeScript SDK's session
//    names (dbos_transact_<executor>_<version>, at most 63 bytes) for some version of the
//    report; Python and Go name no executor, so there it is unknown (null).
//  - stuck = connectivity known, work of V in flight, and no executor of V connected: nothing
//    will finish it (recovery and dequeue are bound to V and the executor id).
//  - eta_seconds, assuming no new start: 0 when safe; otherwise the larger of the time to finish
//    what is in flight at the window's finish rate and the rest of the quiet period after the
//    last start; null when it cannot be told (latest, unknown, patching, stuck, no finish seen,
//    any SUSPENDED row: it waits as long as its recv/sleep says, unknown statuses).
//  - drained_since: the last completed_at of V within the window, when nothing is in flight.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model.h"

namespace dbos_drain {

struct PolicyOptions;

inline constexpr int kMaxApplicationNameBytes = 63;  // PostgreSQL NAMEDATALEN - 1

// "dbos_transact_<executor>_<version>" as the TS SDK sets it, cut to 63 bytes as PostgreSQL does.
std::string SdkSessionName(const std::string& executor, const std::string& version);

// Fills the entries' intake, finishes and executor connectivity from the snapshot, creating
// entries (known: their rows prove it) for versions seen only in intake. NULL-version intake
// counts toward `latest` (only its workers take such rows). Call before DecideRetire.
void AttachRetireInputs(const Snapshot& snapshot, const std::optional<std::string>& latest,
                        std::map<std::string, VersionReport>& entries);

// Splits "dbos_transact_<executor>_<version>" at an '_' (from the right) where the rest is a
// version of `versions`; returns {executor, version} or nothing. Names may hold '_' themselves.
// Never an executor: Python's dbos_transact and DBOSClient's dbos_transact_client (even with a
// version named "client"), nor a name that splits into no known version (Go's app name, others).
std::optional<std::pair<std::string, std::string>> ParseSdkSession(const std::string& application_name,
                                                                   const std::map<std::string, VersionReport>& versions);

// Decides the retire fields of an entry whose counts, intake and connectivity are complete.
// `intake_read` false (the snapshot did not cover the quiet period): blocker intake_unread.
// `replica` not fresh: blocker replica_lag (a default ReplicaAssessment is a primary: fresh).
void DecideRetire(VersionReport& version, int64_t as_of_ms, int64_t window_ms, bool intake_read = true,
                  const ReplicaAssessment& replica = ReplicaAssessment{});

// One line for people: "v1 safe to retire: nothing in flight, no start in the last 2m" or "v1 not
// safe to retire: in_flight: 3 pending, oldest 2h 5m; recent_intake: 5 workflows started in the
// last 2m, last 10s ago".
std::string RetireLine(const VersionReport& version, int64_t as_of_ms, int64_t window_ms);

// The verdict for versions named by a caller (status V..., wait V..., Flagger), in order: the
// report's entry or a synthesized unknown one.
struct Judgement {
  std::vector<VersionReport> versions;
  bool all_safe = true;     // every named version safe to retire (true for none)
  bool all_drained = true;  // every named version drained (the raw count)
};
Judgement JudgeVersions(const Report& report, const std::vector<std::string>& names, const PolicyOptions& options);

}  // namespace dbos_drain
