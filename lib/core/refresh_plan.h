// The report cache's decisions (serve/report_cache.h states the contract) as pure functions of
// its state and the time: what a caller does now (serve / join / refresh / back off / fail), what
// it gets after waiting, what a finished read changes (the new report's freshness window and
// staleness bound, the backoff, the probe bookkeeping), and when the watchdog aborts a read.
// No threads and no clock reads: ReportCache takes `now` under its mutex, asks, and carries out
// the answer, so every rule here is unit-tested without threads (test/unit/refresh_plan_test.cc).
//
// How long a report stays fresh and how long it may be served are computed once per read, from
// that read (PlanAfterRead -> ReportWindow), not from the options at each request: a refresh
// interval that depends on the read (e.g. a database-time budget that stretches the interval
// when reads are slow) changes RefreshInterval()/StalenessBound() and nothing else.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include "drain_error.h"

namespace dbos_drain {

using SteadyTime = std::chrono::steady_clock::time_point;

// The cache's options (ReportCache::Options).
struct CacheOptions {
  std::chrono::milliseconds refresh{2000};         // serve from memory while younger than this
  std::chrono::milliseconds max_staleness{11000};  // never serve a report this old
  std::chrono::milliseconds wait_timeout{6000};    // a caller waits at most this for a read
  std::chrono::milliseconds abort_after{12000};    // the watchdog aborts a read this old
  std::chrono::milliseconds probe_interval{30000}; // a watched version is probed at most this often
  size_t max_watched_versions = 1000;
  // The database budget (--max-db-share): report reads take at most this share of one database
  // core. 1 (or more): no budget.
  double max_db_share = 0.10;
};

// After a failed read the next starts no sooner than this, doubling up to kMaxBackoff.
inline constexpr std::chrono::milliseconds kMinBackoff{100};
inline constexpr std::chrono::milliseconds kMaxBackoff{1000};

// When the current report was read and how long it may be used.
struct ReportWindow {
  SteadyTime fetched_at{};    // the end of the read that produced it
  SteadyTime fresh_until{};   // before this it is served from memory and no read starts
  SteadyTime usable_until{};  // from this on it is never served (the staleness bound)
};

// What the cache knows at one instant.
struct CacheState {
  std::optional<ReportWindow> report;  // none before the first successful read
  bool reading = false;                // a read (or the encoding of its result) is under way
  bool failed = false;                 // the last read failed; its error is kept
  SteadyTime next_attempt{};           // after a failure, no read starts before this
  bool stopping = false;               // Shutdown() was called
};

// The report is within its staleness bound at `now`.
bool Usable(const CacheState& state, SteadyTime now);
// The report is younger than its refresh interval at `now`.
bool Fresh(const CacheState& state, SteadyTime now);

enum class GetAction {
  kServe,    // fresh: the report, from memory
  kJoin,     // a read is under way: wait for it
  kRefresh,  // start a read, then wait for it
  kBackOff,  // the last read failed less than the backoff ago: no read; the report (usable)
  kFail,     // backing off and no usable report: the last read's error
};

// What Get() does on arrival.
GetAction PlanGet(const CacheState& state, SteadyTime now);

enum class WaitAnswer {
  kReport,        // fresh or usable: the report
  kTimeout,       // no read finished within wait_timeout and no report is usable
  kShuttingDown,  // Shutdown() released the caller before the read finished
  kLastError,     // the read failed and no report is usable
  kNoReport,      // the read finished without a report or an error (not expected)
};

// What Get() answers after waiting. `timed_out`: the wait ran out; `read_finished`: a read
// ended during the wait.
WaitAnswer PlanAfterWait(const CacheState& state, SteadyTime now, bool read_finished, bool timed_out);

// How long a report stays fresh / may be served, given how long the read that produced it took.
// The database budget: a read of T followed by an interval I uses T / (T + I) of a database core,
// so the interval is at least T x (1 - max_db_share) / max_db_share (a 750 ms read at 10%: 6.75 s),
// and never less than `refresh`. The staleness bound stretches by the same amount, so a report
// stays servable for as long after its refresh is due as without the budget; answers still carry
// their as_of, and none is served past the (stretched) bound.
std::chrono::milliseconds RefreshInterval(const CacheOptions& options, std::chrono::milliseconds read_took);
std::chrono::milliseconds StalenessBound(const CacheOptions& options, std::chrono::milliseconds read_took);
// The budget stretched the interval beyond `refresh`.
bool RefreshThrottled(const CacheOptions& options, std::chrono::milliseconds read_took);

// One finished read.
struct ReadOutcome {
  SteadyTime started{};
  SteadyTime ended{};
  std::optional<ErrorCode> error;  // none: read and encoded
};

// What a finished read changes.
struct ReadPlan {
  std::optional<ReportWindow> window;  // on success: the new report's window
  std::chrono::milliseconds backoff{0};  // 0 after a success; 100 ms doubling to 1 s after failures
  SteadyTime next_attempt{};
  // The database was lost (unreachable, schema gone): what history probes found is forgotten,
  // since the database read next may be another one (a restored backup).
  bool forget_probe_results = false;
  // The read timed out: the versions it probed wait probe_interval before being probed again
  // (a history probe on a large table can be what exceeded the timeout).
  bool defer_probes = false;
};

// The window of the report a successful read produced.
ReportWindow WindowAfterRead(const CacheOptions& options, SteadyTime started, SteadyTime ended);

// `backoff`: the backoff before this read (0 after a success).
ReadPlan PlanAfterRead(const CacheOptions& options, std::chrono::milliseconds backoff, const ReadOutcome& read);

// The watchdog aborts a read that has run (or not been aborted) for longer than abort_after.
// `since`: when the read started, or when it was last aborted.
bool ShouldAbortRead(const CacheOptions& options, bool reading, SteadyTime since, SteadyTime now);

}  // namespace dbos_drain
