// Issue 6 at the HTTP level: however many callers, the database sees one report query per
// refresh. Counted by the database itself, with pg_stat_statements (scripts/with-postgres.sh
// preloads it; without it these tests fail, they do not skip).
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "drain_service.h"
#include "sync.h"
#include "table_lock.h"
#include "test_database.h"

using namespace dbos_drain::servicetest;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::Stampede;
using dbos_drain::testing::TableLock;
using dbos_drain::testing::TestDatabase;
using dbos_drain::testing::Workflow;

TEST_CASE("single flight over HTTP: 50 concurrent requests on a stale report cause one report query",
          "[service][single-flight]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(std::chrono::hours(1)));
  db.InsertWorkflows(3, Workflow("PENDING").Version("v1"));
  db.EnableStatementStatistics();  // or the test fails: it must count

  ServeConfig cfg = Config(db.url());
  cfg.refresh = "1s";
  cfg.query_timeout = "3s";
  DrainService svc(cfg);
  REQUIRE(svc.Get("/v1/versions/v1").status == 200);
  std::this_thread::sleep_for(milliseconds(1100));  // the report is stale now
  const int64_t before = ReportQueryCalls(db);

  // Hold the table so the one refresh waits, and every request arrives while it is in flight.
  TableLock lock(db, "workflow_status");
  std::vector<HttpReply> replies(50);
  Stampede callers(replies.size(), [&](size_t i) { replies[i] = svc.Get("/v1/versions/v1", WithTimeout(seconds(10))); });
  callers.Go();
  std::this_thread::sleep_for(milliseconds(500));
  lock.Release();  // the refresh goes through
  callers.Join();

  std::set<std::string> as_of;
  for (const auto& r : replies) {
    INFO(r.Describe());
    REQUIRE(r.status == 200);
    as_of.insert(r.Json().at("as_of").get<std::string>());
  }
  CHECK(as_of.size() == 1);  // all 50 got the same snapshot
  std::this_thread::sleep_for(milliseconds(200));
  CHECK(ReportQueryCalls(db) - before == 1);
}

TEST_CASE("single flight over HTTP: at most one report query per refresh interval under load",
          "[service][single-flight]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(std::chrono::hours(1)));
  db.InsertWorkflows(3, Workflow("PENDING").Version("v1"));
  db.EnableStatementStatistics();  // or the test fails: it must count

  DrainService svc(Config(db.url()));  // --refresh 200ms
  REQUIRE(svc.Get("/v1/versions/v1").status == 200);
  const int64_t before = ReportQueryCalls(db);
  const auto start = Clock::now();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, bad{0};
  std::atomic<int64_t> max_age_ms{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      while (!stop) {
        HttpReply r = svc.Get(t % 2 ? "/v1/versions/v1" : "/v1/versions", WithTimeout(seconds(5)));
        if (r.status != 200) {
          bad++;
          continue;
        }
        ok++;
        auto age = static_cast<int64_t>(r.Json().at("age_seconds").get<double>() * 1000);
        int64_t seen = max_age_ms.load();
        while (age > seen && !max_age_ms.compare_exchange_weak(seen, age)) {
        }
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(3000));
  stop = true;
  for (auto& t : threads) t.join();
  const auto elapsed = Since(start);
  std::this_thread::sleep_for(milliseconds(200));
  const int64_t queries = ReportQueryCalls(db) - before;
  const int64_t intervals = elapsed.count() / 200;
  INFO(ok << " requests, " << queries << " report queries in " << elapsed.count() << " ms, max age " << max_age_ms << " ms");
  CHECK(bad == 0);
  CHECK(ok > 200);
  CHECK(queries <= intervals + 1);
  CHECK(queries >= intervals / 2);  // and it does keep refreshing under load
  CHECK(max_age_ms < 500);          // every answer is at most a refresh (plus a query) old
}
