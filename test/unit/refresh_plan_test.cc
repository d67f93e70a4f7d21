// The report cache's decisions without threads or clocks (core/refresh_plan.h,
// core/watched_versions.h): serve / join / refresh / back off / fail, the answer after a wait,
// what a read changes (window, backoff, probe bookkeeping) and the watchdog.
#include <catch2/catch.hpp>

#include "refresh_plan.h"
#include "watched_versions.h"

using namespace dbos_drain;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const SteadyTime t0 = SteadyTime() + std::chrono::hours(1);  // any instant

CacheOptions Options() {
  CacheOptions o;
  o.refresh = milliseconds(2000);
  o.max_staleness = milliseconds(11000);
  o.abort_after = milliseconds(12000);
  o.probe_interval = milliseconds(30000);
  o.max_watched_versions = 3;
  return o;
}

// A state whose report was read at t0 with Options().
CacheState WithReport() {
  CacheState s;
  s.report = WindowAfterRead(Options(), t0 - milliseconds(40), t0);
  s.next_attempt = t0;
  return s;
}

}  // namespace

TEST_CASE("plan: a report younger than refresh is served from memory, whatever else is going on", "[cache-plan]") {
  CacheState s = WithReport();
  CHECK(PlanGet(s, t0) == GetAction::kServe);
  CHECK(PlanGet(s, t0 + milliseconds(1999)) == GetAction::kServe);
  s.reading = true;  // a read was started by someone else; the report is still fresh
  CHECK(PlanGet(s, t0 + milliseconds(1999)) == GetAction::kServe);
  s.failed = true;
  s.next_attempt = t0 + seconds(5);
  CHECK(PlanGet(s, t0 + milliseconds(1000)) == GetAction::kServe);
}

TEST_CASE("plan: a stale report starts one read; callers during it join it (single flight)", "[cache-plan]") {
  CacheState s = WithReport();
  CHECK(PlanGet(s, t0 + milliseconds(2000)) == GetAction::kRefresh);  // refresh is an exclusive bound
  s.reading = true;
  CHECK(PlanGet(s, t0 + milliseconds(2000)) == GetAction::kJoin);
  CHECK(PlanGet(s, t0 + seconds(60)) == GetAction::kJoin);  // even past the staleness bound: no second read

  CacheState empty;  // before the first read
  CHECK(PlanGet(empty, t0) == GetAction::kRefresh);
  empty.reading = true;
  CHECK(PlanGet(empty, t0) == GetAction::kJoin);
}

TEST_CASE("plan: after a failure, callers within the backoff get the last report while usable, then the error",
          "[cache-plan]") {
  CacheState s = WithReport();
  s.failed = true;
  s.next_attempt = t0 + seconds(3);  // a read failed; backing off until t0+3s
  CHECK(PlanGet(s, t0 + milliseconds(2500)) == GetAction::kBackOff);  // stale, usable: served, no read
  CHECK(PlanGet(s, t0 + seconds(3)) == GetAction::kRefresh);          // backoff over: retry

  s.next_attempt = t0 + seconds(20);
  CHECK(PlanGet(s, t0 + milliseconds(10999)) == GetAction::kBackOff);
  CHECK(PlanGet(s, t0 + milliseconds(11000)) == GetAction::kFail);  // past the staleness bound: never served

  CacheState never;  // no report ever; the first read failed
  never.failed = true;
  never.next_attempt = t0 + milliseconds(100);
  CHECK(PlanGet(never, t0) == GetAction::kFail);
  CHECK(PlanGet(never, t0 + milliseconds(100)) == GetAction::kRefresh);

  // A failure without a pending backoff (next_attempt passed) and a read under way: join it.
  s.reading = true;
  CHECK(PlanGet(s, t0 + seconds(12)) == GetAction::kJoin);
}

TEST_CASE("plan: after waiting, the report if usable, else the reason", "[cache-plan]") {
  CacheState s = WithReport();
  // The read finished and replaced the report (fresh at its own time).
  CHECK(PlanAfterWait(s, t0 + milliseconds(100), true, false) == WaitAnswer::kReport);
  // The read failed but the old report is within its bound.
  s.failed = true;
  CHECK(PlanAfterWait(s, t0 + seconds(5), true, false) == WaitAnswer::kReport);
  CHECK(PlanAfterWait(s, t0 + seconds(11), true, false) == WaitAnswer::kLastError);
  // Nothing finished within wait_timeout.
  CHECK(PlanAfterWait(s, t0 + seconds(5), false, true) == WaitAnswer::kReport);
  CHECK(PlanAfterWait(s, t0 + seconds(11), false, true) == WaitAnswer::kTimeout);
  // Shutdown released the caller: the read did not finish.
  s.stopping = true;
  CHECK(PlanAfterWait(s, t0 + seconds(11), false, false) == WaitAnswer::kShuttingDown);
  CHECK(PlanAfterWait(s, t0 + seconds(11), true, false) == WaitAnswer::kLastError);
  CHECK(PlanAfterWait(s, t0 + seconds(5), false, false) == WaitAnswer::kReport);
  CacheState none;
  CHECK(PlanAfterWait(none, t0, true, false) == WaitAnswer::kNoReport);
}

TEST_CASE("plan: a successful read opens the report's window and clears the backoff", "[cache-plan]") {
  // 200 ms: within the default database budget (10%: 200 x 9 = 1.8 s < the 2 s refresh).
  ReadOutcome read{t0 - milliseconds(200), t0, std::nullopt};
  ReadPlan p = PlanAfterRead(Options(), milliseconds(400), read);
  REQUIRE(p.window);
  CHECK(p.window->fetched_at == t0);  // the end of the read, not its start
  CHECK(p.window->fresh_until == t0 + milliseconds(2000));
  CHECK(p.window->usable_until == t0 + milliseconds(11000));
  CHECK(p.backoff == milliseconds(0));
  CHECK(p.next_attempt == t0);
  CHECK_FALSE(p.forget_probe_results);
  CHECK_FALSE(p.defer_probes);
  // The window is what the read took into account: within the budget, the options'.
  CHECK(RefreshInterval(Options(), milliseconds(200)) == milliseconds(2000));
  CHECK(StalenessBound(Options(), milliseconds(200)) == milliseconds(11000));
  CHECK_FALSE(RefreshThrottled(Options(), milliseconds(200)));
}

TEST_CASE("budget: a slow read stretches the interval to keep reads within --max-db-share", "[cache-plan][budget]") {
  CacheOptions o = Options();  // refresh 2 s, max staleness 11 s, budget 10%
  // 750 ms (1M in flight): 750 / (750 + 6750) = 10% of a database core.
  CHECK(RefreshInterval(o, milliseconds(750)) == milliseconds(6750));
  CHECK(StalenessBound(o, milliseconds(750)) == milliseconds(11000 + 4750));
  CHECK(RefreshThrottled(o, milliseconds(750)));
  // Exactly at the budget: not stretched.
  CHECK(RefreshInterval(o, milliseconds(222)) == milliseconds(2000));
  CHECK(RefreshInterval(o, milliseconds(223)) == milliseconds(2007));
  CHECK_FALSE(RefreshThrottled(o, milliseconds(222)));
  // The share actually used never exceeds the budget.
  for (int took : {1, 50, 223, 500, 1000, 4999}) {
    const auto interval = RefreshInterval(o, milliseconds(took));
    CHECK(took / double(took + interval.count()) <= 0.10 + 1e-9);
  }
  // 50%: a read of 3 s waits 3 s.
  o.max_db_share = 0.5;
  CHECK(RefreshInterval(o, milliseconds(3000)) == milliseconds(3000));
  CHECK(StalenessBound(o, milliseconds(3000)) == milliseconds(12000));
  // 100% (or more): no budget.
  o.max_db_share = 1.0;
  CHECK(RefreshInterval(o, milliseconds(5000)) == milliseconds(2000));
  CHECK_FALSE(RefreshThrottled(o, milliseconds(5000)));
}

TEST_CASE("budget: the stretched window is what a read opens; the report is never served past it", "[cache-plan][budget]") {
  ReadOutcome read{t0 - milliseconds(1000), t0, std::nullopt};
  ReadPlan p = PlanAfterRead(Options(), milliseconds(0), read);
  REQUIRE(p.window);
  CHECK(p.window->fresh_until == t0 + milliseconds(9000));
  CHECK(p.window->usable_until == t0 + milliseconds(18000));
  CacheState s;
  s.report = p.window;
  CHECK(PlanGet(s, t0 + milliseconds(8999)) == GetAction::kServe);  // no read within the interval
  CHECK(PlanGet(s, t0 + milliseconds(9000)) == GetAction::kRefresh);
  s.failed = true;
  s.next_attempt = t0 + milliseconds(30000);
  CHECK(PlanGet(s, t0 + milliseconds(17999)) == GetAction::kBackOff);
  CHECK(PlanGet(s, t0 + milliseconds(18000)) == GetAction::kFail);  // past the stretched bound
}

TEST_CASE("plan: failed reads back off 100 ms doubling to 1 s", "[cache-plan]") {
  ReadOutcome read{t0 - milliseconds(10), t0, ErrorCode::kPermissionDenied};
  milliseconds backoff{0};
  std::vector<long long> seen;
  for (int i = 0; i < 6; ++i) {
    ReadPlan p = PlanAfterRead(Options(), backoff, read);
    CHECK_FALSE(p.window);
    CHECK(p.next_attempt == t0 + p.backoff);
    backoff = p.backoff;
    seen.push_back(backoff.count());
  }
  CHECK(seen == std::vector<long long>{100, 200, 400, 800, 1000, 1000});
}

TEST_CASE("plan: which failures forget probe results and which defer probes", "[cache-plan]") {
  auto plan = [](ErrorCode code) { return PlanAfterRead(Options(), milliseconds(0), {t0, t0, code}); };
  for (ErrorCode lost : {ErrorCode::kDatabaseUnavailable, ErrorCode::kSchemaNotFound, ErrorCode::kSchemaUnrecognized}) {
    INFO(ErrorCodeName(lost));
    CHECK(plan(lost).forget_probe_results);
    CHECK_FALSE(plan(lost).defer_probes);
  }
  CHECK(plan(ErrorCode::kQueryTimeout).defer_probes);
  CHECK_FALSE(plan(ErrorCode::kQueryTimeout).forget_probe_results);
  for (ErrorCode other : {ErrorCode::kPermissionDenied, ErrorCode::kQueryFailed, ErrorCode::kConfig}) {
    INFO(ErrorCodeName(other));
    CHECK_FALSE(plan(other).forget_probe_results);
    CHECK_FALSE(plan(other).defer_probes);
  }
}

TEST_CASE("plan: the watchdog aborts a read older than abort_after, once per abort_after", "[cache-plan]") {
  const CacheOptions o = Options();
  CHECK_FALSE(ShouldAbortRead(o, true, t0, t0 + milliseconds(12000)));
  CHECK(ShouldAbortRead(o, true, t0, t0 + milliseconds(12001)));
  CHECK_FALSE(ShouldAbortRead(o, false, t0, t0 + seconds(60)));  // idle (or encoding): nothing to abort
}

TEST_CASE("watched versions: asked-about unknown versions are watched, bounded, and expire", "[cache-plan]") {
  WatchedVersions w(3, milliseconds(30000));
  w.Asked("v1", /*in_report=*/true, t0);  // the report shows it: not watched
  CHECK_FALSE(w.watching("v1"));
  w.Asked("old1", false, t0);
  w.Asked("old2", false, t0);
  w.Asked("old3", false, t0);
  w.Asked("old4", false, t0);  // over the bound
  CHECK(w.size() == 3);
  CHECK_FALSE(w.watching("old4"));
  CHECK(w.DueForProbe(t0) == std::vector<std::string>{"old1", "old2", "old3"});

  // Asked again keeps it alive (even once the report shows it); the others expire after 10 min.
  w.Asked("old2", true, t0 + std::chrono::minutes(9));
  auto due = w.DueForProbe(t0 + std::chrono::minutes(10) + milliseconds(1));
  CHECK(due == std::vector<std::string>{"old2"});
  CHECK(w.size() == 1);
}

TEST_CASE("watched versions: probe results, re-probing after probe_interval, timeouts and forgetting", "[cache-plan]") {
  WatchedVersions w(10, milliseconds(30000));
  w.Asked("a", false, t0);
  w.Asked("b", false, t0);
  Snapshot s;
  s.versions_probed = {"a", "b", "not-watched"};
  s.versions_with_history = {"a"};
  w.RecordProbes(s, t0);
  CHECK(w.DueForProbe(t0 + milliseconds(29999)).empty());
  CHECK(w.DueForProbe(t0 + milliseconds(30000)) == std::vector<std::string>{"a", "b"});

  // A later read that did not probe them still reports "a" as having history.
  Snapshot next;
  w.AddFoundTo(next);
  CHECK(next.versions_with_history == std::set<std::string>{"a"});
  // One that did probe "a" has the last word for it.
  Snapshot reprobed;
  reprobed.versions_probed = {"a"};
  w.AddFoundTo(reprobed);
  CHECK(reprobed.versions_with_history.empty());

  // A timed-out read defers the versions it probed.
  w.Asked("c", false, t0);
  w.DeferProbes({"c", "unknown"}, t0 + seconds(40));
  CHECK(w.DueForProbe(t0 + seconds(40)) == std::vector<std::string>{"a", "b"});

  // The database was lost: nothing found is remembered and every watched version is due.
  w.ForgetProbeResults();
  Snapshot after;
  w.AddFoundTo(after);
  CHECK(after.versions_with_history.empty());
  CHECK(w.DueForProbe(t0 + seconds(41)) == std::vector<std::string>{"a", "b", "c"});
}
