// Issue 6, the ReportCache with a real SystemDatabase reader: single flight (N concurrent callers
// of a stale report cause exactly one report read) and the staleness bound (past
// max_staleness a report is never returned; the error is).
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "report_cache.h"
#include "system_database.h"
#include "process.h"
#include "sync.h"
#include "table_lock.h"
#include "test_database.h"

using dbos_drain::ConnectionSettings;
using dbos_drain::ErrorCode;
using dbos_drain::PolicyOptions;
using dbos_drain::ReportCache;
using dbos_drain::SystemDatabase;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::Stampede;
using dbos_drain::testing::TableLock;
using dbos_drain::testing::TestDatabase;
using dbos_drain::testing::Workflow;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

struct Fixture {
  TestDatabase db;
  Fixture() {
    db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
    db.InsertVersion("v2", AgoMs(std::chrono::hours(1)));
    db.InsertWorkflows(2, Workflow("PENDING").Version("v1"));
  }
};

}  // namespace

TEST_CASE("ReportCache: 50 concurrent callers of a stale report share exactly one read", "[cache][single-flight]") {
  Fixture fx;
  ConnectionSettings settings;
  settings.url = fx.db.url();
  settings.query_timeout = seconds(5);
  SystemDatabase sys(settings);
  std::atomic<int> reads{0};
  ReportCache::Options options;
  options.refresh = milliseconds(500);
  options.max_staleness = seconds(10);
  options.wait_timeout = seconds(6);
  options.abort_after = seconds(12);
  ReportCache cache(
      [&](const std::vector<std::string>& probe) {
        reads++;
        return sys.Read(probe);
      },
      [&] { sys.Abort(); }, PolicyOptions{}, options);

  auto first = cache.Get();
  REQUIRE(first.report);
  CHECK(cache.refresh_count() == 1);
  for (int i = 0; i < 20; ++i) REQUIRE(cache.Get("v1").report == first.report);  // fresh: from memory
  CHECK(cache.refresh_count() == 1);

  std::this_thread::sleep_for(milliseconds(600));  // stale now
  TableLock lock(fx.db, "workflow_status");  // the read will wait
  std::vector<ReportCache::Result> results(50);
  Stampede callers(results.size(), [&](size_t i) { results[i] = cache.Get(i % 2 ? "v1" : "v2"); });
  callers.Go();
  std::this_thread::sleep_for(milliseconds(300));
  CHECK(cache.refresh_count() == 2);  // one read started; 50 callers wait for it
  lock.Release();
  callers.Join();

  std::set<const void*> reports;
  for (const auto& r : results) {
    REQUIRE(r.report);
    CHECK_FALSE(r.error);
    reports.insert(r.report.get());
  }
  CHECK(reports.size() == 1);  // the same refreshed report for everyone
  CHECK(*reports.begin() != first.report.get());
  CHECK(cache.refresh_count() == 2);
  CHECK(reads == 2);
}

TEST_CASE("ReportCache: past max_staleness no report is returned, only the error; it recovers without a restart",
          "[cache][staleness]") {
  Fixture fx;
  const std::string role = fx.db.CreateRole("dd_cache", "pw", /*select=*/true);
  ConnectionSettings settings;
  settings.url = fx.db.UrlAs(role, "pw");
  settings.query_timeout = seconds(1);
  SystemDatabase sys(settings);
  ReportCache::Options options;
  options.refresh = milliseconds(100);
  options.max_staleness = milliseconds(600);
  options.wait_timeout = milliseconds(1500);
  options.abort_after = seconds(3);
  // No database budget here: this test pins the configured bound itself. With the default 10%
  // share a 20 ms read on a busy machine stretches a 100 ms refresh (and so the bound) on
  // purpose; the budget's own stretching is pinned in test/unit/refresh_plan_test.cc and
  // test/service/db_budget_test.cc.
  options.max_db_share = 1.0;
  ReportCache cache([&](const std::vector<std::string>& p) { return sys.Read(p); }, [&] { sys.Abort(); },
                    PolicyOptions{}, options);
  auto ok = cache.Get("v2");
  REQUIRE(ok.report);
  REQUIRE(dbos_drain::FindVersion(ok.report->report, "v2", PolicyOptions{}).drained);

  // The database stops answering this role.
  fx.db.Exec("REVOKE SELECT ON ALL TABLES IN SCHEMA dbos FROM " + TestDatabase::Ident(role));
  const auto revoked = Clock::now();
  std::optional<Clock::time_point> first_error;
  int served_after_error = 0, too_old = 0, calls = 0;
  while (Clock::now() - revoked < milliseconds(2500)) {
    auto r = cache.Get("v2");
    const auto now = Clock::now();
    ++calls;
    if (r.report) {
      if (now - r.report->fetched_at >= options.max_staleness) ++too_old;
      if (first_error) ++served_after_error;
    } else {
      REQUIRE(r.error);
      CHECK(r.error->code() == ErrorCode::kPermissionDenied);
      if (!first_error) first_error = now;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  INFO(calls << " calls");
  REQUIRE(first_error);
  CHECK(too_old == 0);              // never a report older than the bound
  CHECK(served_after_error == 0);   // once past it, no report at all while the fault lasts
  CHECK(*first_error - revoked < options.max_staleness + milliseconds(200));

  // Fixed: back without a restart, within the backoff (at most 1 s) plus a refresh.
  fx.db.Exec("GRANT SELECT ON ALL TABLES IN SCHEMA dbos TO " + TestDatabase::Ident(role));
  const auto granted = Clock::now();
  ReportCache::Result back;
  REQUIRE(dbos_drain::testing::WaitUntil([&] { return (back = cache.Get("v2")).report != nullptr; }, seconds(5)));
  CHECK(Clock::now() - granted < milliseconds(1500));
  CHECK(back.report->fetched_at > granted);
}

TEST_CASE("ReportCache: inside a NoWaitScope a stale report is served at once while a read is under way",
          "[cache][no-wait]") {
  Fixture fx;
  ConnectionSettings settings;
  settings.url = fx.db.url();
  settings.query_timeout = seconds(5);
  SystemDatabase sys(settings);
  ReportCache::Options options;
  options.refresh = milliseconds(200);
  options.max_staleness = seconds(2);
  options.wait_timeout = seconds(6);
  options.abort_after = seconds(12);
  options.max_db_share = 1.0;  // fixed bounds (see the staleness test)
  ReportCache cache([&](const std::vector<std::string>& p) { return sys.Read(p); }, [&] { sys.Abort(); },
                    PolicyOptions{}, options);
  auto first = cache.Get();
  REQUIRE(first.report);

  std::this_thread::sleep_for(milliseconds(300));  // stale, within the bound
  TableLock lock(fx.db, "workflow_status");          // the read it starts will wait
  {
    ReportCache::NoWaitScope no_wait;
    const auto t0 = Clock::now();
    auto r = cache.Get("v1");
    CHECK(Clock::now() - t0 < milliseconds(50));  // answered without waiting for the read
    REQUIRE(r.report);
    CHECK(r.report == first.report);
    CHECK(dbos_drain::testing::WaitUntil([&] { return cache.refresh_count() == 2; }, seconds(2)));  // ... it started
    auto joined = cache.Get("v1");                // a read under way: still no wait
    CHECK(joined.report == first.report);
  }
  // Past the staleness bound, inside the scope: the error, never the old report, and no wait.
  std::this_thread::sleep_for(options.max_staleness);
  {
    ReportCache::NoWaitScope no_wait;
    const auto t0 = Clock::now();
    auto r = cache.Get("v1");
    CHECK(Clock::now() - t0 < milliseconds(50));
    CHECK_FALSE(r.report);
    CHECK(r.error);
  }
  lock.Release();
  auto fresh = cache.Get();  // outside the scope: waits for the read, as before
  REQUIRE(fresh.report);
  CHECK(fresh.report != first.report);
}
