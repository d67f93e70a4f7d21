// The data dbos-drain works on: what it observes in a DBOS system database (a Snapshot) and
// what it concludes from it (a Report). Plain values, no I/O; every other part of the library
// produces or consumes these types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "replica_lag.h"

namespace dbos_drain {

// The statuses of a workflow that has not finished. SUSPENDED (Python 3.5+, TS 5.5+, Java 1.4):
// waiting in recv/sleep outside memory; it needs a worker of its version when it wakes.
enum class InFlightStatus { kPending, kEnqueued, kDelayed, kSuspended };

// Parses "PENDING" / "ENQUEUED" / "DELAYED" / "SUSPENDED"; anything else is not in flight.
std::optional<InFlightStatus> ParseInFlightStatus(const std::string& status);

// SUCCESS, ERROR, CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED, RETRIES_EXCEEDED (older Python and
// TS 1.x-2.x). A status neither finished nor in flight is unknown: it never reads as finished.
bool IsFinishedStatus(const std::string& status);

struct StatusCounts {
  int64_t pending = 0;
  int64_t enqueued = 0;
  int64_t delayed = 0;
  int64_t suspended = 0;

  int64_t total() const { return pending + enqueued + delayed + suspended; }
  void Add(InFlightStatus status, int64_t count);
  void Add(const StatusCounts& other);
  bool operator==(const StatusCounts& o) const {
    return pending == o.pending && enqueued == o.enqueued && delayed == o.delayed && suspended == o.suspended;
  }
};

// The highest dbos_migrations.version dbos-drain was tested with (TS SDK 5.3.0; Python's numbering
// ends at 108). Higher levels exist (124-130, Java 1.4): they are read like any other, the shape
// check (tables and columns) decides, and the report says the level is newer than tested.
inline constexpr int64_t kNewestKnownMigration = 123;

// Which optional tables and columns the system database has. Read once per connection; the
// report query is built to fit it.
struct SchemaShape {
  std::string schema = "dbos";
  std::string database;  // current_database(), for messages
  bool has_application_versions = false;
  bool has_queues = false;
  bool has_application_name = false;           // workflow_status.application_name
  bool has_delay_until = false;                // workflow_status.delay_until_epoch_ms (DELAYED exists)
  bool versions_have_application_name = false; // application_versions.application_name
  bool queues_have_application_name = false;   // queues.application_name
  bool queues_have_worker_concurrency = false;
  std::optional<int64_t> migration;            // dbos_migrations.version, when readable
  bool migration_newer_than_known() const { return migration && *migration > kNewestKnownMigration; }
  // For the retire verdict (retire_policy.h): where a recent start came from, and finish times.
  bool has_schedule_name = false;              // workflow_status.schedule_name (5.x)
  bool has_forked_from = false;                // workflow_status.forked_from
  bool has_completed_at = false;               // workflow_status.completed_at (newer schemas)
};

// Where a workflow came from, as far as its row shows (workflow_uuid prefix, schedule_name,
// forked_from, executor_id = '' for a client enqueue).
enum class IntakeKind { kScheduled, kKafka, kClientEnqueue, kFork, kOther };
const char* IntakeKindName(IntakeKind kind);  // "scheduled", "kafka", "client_enqueue", "fork", "other"
std::optional<IntakeKind> ParseIntakeKind(const std::string& name);

// Workflows created within the quiet period (created_at >= as_of - window), grouped.
struct IntakeGroup {
  std::optional<std::string> version;  // NULL: enqueued without a version (taken by the latest)
  std::string name;                    // workflow_status.name ('' when NULL)
  IntakeKind kind = IntakeKind::kOther;
  int64_t count = 0;
  int64_t last_created_at_ms = 0;
};

// Workflows of a version that finished within the window (completed_at >= as_of - window).
struct FinishGroup {
  std::optional<std::string> version;
  int64_t count = 0;
  int64_t last_completed_at_ms = 0;
};

// One group of in-flight workflow_status rows, as the report query returns them.
struct InFlightGroup {
  std::optional<std::string> version;  // NULL: enqueued by a client, not yet claimed by a version
  std::optional<std::string> queue;    // NULL or '' (old Go SDK): not queued
  std::string executor;                // executor_id; '' when NULL
  InFlightStatus status = InFlightStatus::kPending;
  int64_t count = 0;
  int64_t oldest_created_at_ms = 0;
};

// workflow_status rows of a status dbos-drain does not know (neither finished nor in flight),
// from the status check (report_query.h: BuildStatusCheckQuery).
struct UnknownStatusGroup {
  std::optional<std::string> version;  // NULL: no version (see drain_policy.h: blocks every version)
  std::string status;
  int64_t count = 0;
  int64_t oldest_created_at_ms = 0;
};

// A row of application_versions.
struct RegisteredVersion {
  RegisteredVersion() = default;
  RegisteredVersion(std::string name_, int64_t version_timestamp, int64_t created_at,
                    std::optional<std::string> application_ = std::nullopt)
      : name(std::move(name_)), version_timestamp_ms(version_timestamp), created_at_ms(created_at),
        application(std::move(application_)) {}
  std::string name;
  int64_t version_timestamp_ms = 0;
  int64_t created_at_ms = 0;
  // application_name (newer schemas); NULL (or an older schema): owned by no application, so in
  // every application's scope (the SDKs read "own or NULL").
  std::optional<std::string> application;
};

// A row of the queues table.
struct QueueConfig {
  std::string name;
  std::optional<int64_t> concurrency;
  std::optional<int64_t> worker_concurrency;
  std::optional<std::string> application;  // queues.application_name (newer schemas); NULL: none
};

// The created_at / completed_at ranges one read of the quiet period covered afresh
// (window_ledger.h): [lo, edge_end) and [from, +inf); [edge_end, from) came from earlier reads.
struct WindowBounds {
  int64_t lo_ms = 0;        // as_of - window
  int64_t edge_end_ms = 0;  // the end of the second that holds lo
  int64_t from_ms = 0;      // == edge_end_ms: a full read
  bool full() const { return from_ms <= edge_end_ms; }
};

// Everything read from the database in one consistent snapshot.
struct Snapshot {
  SchemaShape shape;
  int64_t as_of_ms = 0;  // the database's now() at the snapshot
  std::optional<std::string> application;  // --application, when it applied
  bool application_filter_ignored = false; // --application given but no application_name column
  std::vector<InFlightGroup> groups;
  // The status check (core/status_ledger.h): rows of an unknown status, and the database time of
  // the check whose SUSPENDED and unknown rows this snapshot holds. SUSPENDED rows are in `groups`.
  std::vector<UnknownStatusGroup> unknown_statuses;
  std::optional<int64_t> statuses_checked_at_ms;
  bool statuses_checked_now = false;  // the check ran in this snapshot (not carried from an earlier one)
  bool statuses_unchecked = false;    // a due check failed: no version is safe (blocker statuses_unchecked)
  std::vector<RegisteredVersion> registered;
  std::vector<QueueConfig> queues;
  // Versions asked about and proven, by a lookup of workflow history, to have workflow_status rows.
  std::set<std::string> versions_with_history;
  // Versions that lookup covered (found or not), so a reader can tell "checked" from "not asked".
  std::set<std::string> versions_probed;
  // The lookup ran out of time (no index on application_version): those versions stay unknown.
  bool history_probe_timed_out = false;
  // Whether the server is a hot standby and how far behind, read just before the snapshot
  // (issue 15). Default: a primary.
  StandbyObservation standby;
  // The retire verdict's inputs, from the same snapshot (a second statement of the transaction).
  int64_t window_ms = 0;                  // the quiet period the intake and finishes cover
  WindowBounds window_read;               // what of it this read read afresh (window_ledger.h)
  std::vector<IntakeGroup> intake;
  std::vector<FinishGroup> finished;      // empty and finishes_known false on older shapes
  bool finishes_known = false;            // the shape has completed_at, so finishes were read
  // application_name of every session of this database visible in pg_stat_activity that
  // starts with "dbos_transact_" (the TypeScript SDK's pool: dbos_transact_<executor>_<version>).
  std::vector<std::string> sdk_sessions;
  bool sessions_visible = false;          // pg_stat_activity was read
  // A connection pooler answered dbos-drain's connection (issue 20): the sessions it shows are
  // the pool's server connections, so sessions_visible is false (connected/stuck unknown).
  bool through_pooler = false;
};

// Why a version is not safe to retire: a stable code (docs/troubleshooting.md, "Blocker codes of a version") and a message
// for a person (what, how many, since when, what to do).
struct Blocker {
  std::string code;
  std::string message;
  bool operator==(const Blocker& o) const { return code == o.code && message == o.message; }
};

enum class Phase { kLatest, kActive, kDraining, kStuck, kDrained, kUnknown };
const char* PhaseName(Phase phase);  // "latest", "active", "draining", "stuck", "drained", "unknown"
inline constexpr Phase kAllPhases[] = {Phase::kLatest, Phase::kActive,  Phase::kDraining,
                                       Phase::kStuck,  Phase::kDrained, Phase::kUnknown};

// The work of a version that started within the quiet period.
struct Intake {
  int64_t window_ms = 0;
  int64_t started = 0;
  std::optional<int64_t> last_started_at_ms;
  std::map<std::string, int64_t> by_name;
  std::map<std::string, int64_t> by_kind;  // IntakeKindName -> count
};

// The verdict for one application version.
struct VersionReport {
  std::string version;
  // application_name of its application_versions row(s): null when unregistered or owned by none.
  std::optional<std::string> application;
  bool known = false;
  bool latest = false;  // the latest of its application's scope (drain_policy.h)
  bool patching = false;
  bool drained = false;
  std::optional<int64_t> registered_at_ms;
  std::optional<std::string> reason;  // why not drained, when not because of in-flight work
  std::optional<std::string> note;    // other caveats (patching mode, unknown version let through)
  StatusCounts in_flight;             // includes unassigned rows for the latest version
  StatusCounts not_queued;
  std::map<std::string, StatusCounts> queues;
  std::map<std::string, StatusCounts> executors;
  int64_t unassigned_in_flight = 0;   // how many of in_flight are NULL-version rows
  // Rows of a status dbos-drain does not know, by status (their own and NULL-version ones): they
  // block the version (blocker unknown_status).
  std::map<std::string, int64_t> unknown_statuses;
  bool statuses_checked = true;       // false: the status check has not run (blocker statuses_unchecked)
  std::optional<int64_t> oldest_in_flight_ms;
  std::optional<int64_t> oldest_in_flight_age_ms;  // as_of - oldest, clamped at 0 (app clocks skew)

  // The retire verdict (retire_policy.h), from the same snapshot.
  bool safe_to_retire = false;
  std::vector<Blocker> blockers;      // empty exactly when safe_to_retire
  Phase phase = Phase::kUnknown;
  Intake intake;
  int64_t retire_hold = 1;            // 0 exactly when safe_to_retire
  std::optional<int64_t> finished_in_window;  // null when the shape has no completed_at
  std::optional<double> eta_seconds;          // until safe_to_retire, assuming no new starts
  std::optional<int64_t> last_finished_at_ms; // last completed_at of V within the window
  std::optional<int64_t> drained_since_ms;    // last finish of V, when drained and within the window
  // executor -> connected (true/false); absent from the map or connectivity_known false: null.
  std::map<std::string, bool> executor_connected;
  std::set<std::string> connected_executors;  // executors of V with a session (TS SDK)
  bool connectivity_known = false;
  bool stuck = false;

  // In the default listing (version_listing.h): false only for a quiet, long-drained version.
  bool listed = true;
};

// Totals for one queue across all versions (for KEDA and metrics).
struct QueueReport {
  std::string name;
  bool registered = false;  // in the queues table
  std::optional<std::string> application;  // its application_name in the queues table
  std::optional<int64_t> concurrency;
  std::optional<int64_t> worker_concurrency;
  StatusCounts in_flight;
};

// The whole answer for one snapshot.
struct Report {
  int64_t as_of_ms = 0;
  SchemaShape shape;
  std::optional<std::string> application;
  bool application_filter_ignored = false;
  // The latest version: of the only application scope. With several applications in the
  // database (and no --application) it is null and latest_by_application names each one's.
  std::optional<std::string> latest_version;
  std::map<std::string, std::string> latest_by_application;  // application ("" = owned by none) -> latest
  StatusCounts unassigned;
  std::map<std::string, StatusCounts> unassigned_queues;
  std::map<std::string, int64_t> unassigned_unknown_statuses;  // NULL-version rows of an unknown status
  std::optional<int64_t> statuses_checked_at_ms;               // see Snapshot
  bool statuses_unchecked = false;                             // see Snapshot
  std::vector<VersionReport> versions;  // registered first (oldest first), then the others by name
  std::map<std::string, QueueReport> queues;
  std::set<std::string> versions_probed;
  bool history_probe_timed_out = false;  // see Snapshot
  int64_t quiet_period_ms = 0;           // the window the retire verdict used
  bool intake_read = false;              // the snapshot's intake covered that whole window
  StatusCounts unassigned_not_queued;    // unassigned minus what sits on a queue
  // The default listing (version_listing.h): the recent window it used (--show-recent) and how
  // many entries of `versions` it hides (their `listed` is false).
  int64_t show_recent_ms = 0;
  size_t hidden_versions = 0;

  // The report's own entry for `version`, or null. O(log n).
  const VersionReport* Find(const std::string& version) const;
  std::map<std::string, size_t> index;  // version -> position in `versions`
  // A primary, or a standby and its lag; when !replica.fresh no version is drained (issue 15).
  // as_of_ms above is the time the data is from: the read's time minus the lag.
  ReplicaAssessment replica;
  bool through_pooler = false;  // see Snapshot
};

}  // namespace dbos_drain
