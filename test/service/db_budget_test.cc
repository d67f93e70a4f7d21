// The database budget (issue 13, --max-db-share): a report read that takes longer than the budget
// allows stretches the refresh interval and the staleness bound; /metrics and the log say so, and
// the database sees fewer reads. Real `dbos-drain serve`, real PostgreSQL (pg_stat_statements
// counts the reads). The rule itself: test/unit/refresh_plan_test.cc "[budget]".
#include <catch2/catch.hpp>

#include <thread>

#include "drain_service.h"
#include "test_database.h"
#include "../unit/prometheus_parse.h"

using namespace dbos_drain::servicetest;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::TestDatabase;
using dbos_drain::testing::Workflow;

namespace {

// The value of the unlabelled sample `name` in a Prometheus text body; NaN when absent.
double Sample(const std::string& body, const std::string& name) {
  return dbos_drain::prom::ParseExposition(body).Value(name).value_or(std::nan(""));
}

// A backlog large enough that one read takes milliseconds, not microseconds.
void Backlog(const TestDatabase& db) {
  db.InsertVersion("v1", AgoMs(std::chrono::hours(1)));
  db.Exec("INSERT INTO " + db.Table("workflow_status") +
          " (workflow_uuid, status, name, application_version, queue_name, executor_id, created_at, updated_at)"
          " SELECT 'b-' || g, 'ENQUEUED', 'testWorkflow', 'v1', 'tasks', 'worker-' || (g % 8), " +
          std::to_string(AgoMs(std::chrono::minutes(1))) + ", " + std::to_string(AgoMs(std::chrono::minutes(1))) +
          " FROM generate_series(1, 20000) AS g");
  db.Exec("ANALYZE " + db.Table("workflow_status"));
  db.Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
}

}  // namespace

TEST_CASE("a slow read stretches the refresh interval and the staleness bound within --max-db-share", "[service][budget]") {
  TestDatabase db;
  Backlog(db);
  ServeConfig c = Config(db.url());
  c.refresh = "100ms";
  // 1%: any read over ~1 ms (20k rows take several) must wait 99x its time before the next.
  c.extra_args = {"--max-db-share", "1%", "--max-staleness", "5s"};
  DrainService svc(c);

  HttpReply m = PollUntil(svc, "/metrics", [](const HttpReply& r) {
    return r.status == 200 && Sample(r.body, "dbos_drain_refresh_throttled") == 1;
  }, seconds(10));
  REQUIRE(Sample(m.body, "dbos_drain_refresh_throttled") == 1);
  const double interval = Sample(m.body, "dbos_drain_refresh_interval_seconds");
  const double bound = Sample(m.body, "dbos_drain_report_staleness_bound_seconds");
  CHECK(interval > 0.1);
  // The bound stretches by as much as the interval: 5 s - 100 ms after the refresh is due.
  CHECK(bound - interval == Approx(4.9).margin(0.0011));
  CHECK(Sample(m.body, "dbos_drain_report_database_seconds_total") > 0);
  // The answers stay honest: still 200 with the counts, and every answer carries its as_of.
  HttpReply v = svc.Get("/v1/versions/v1");
  REQUIRE(v.status == 200);
  auto doc = nlohmann::json::parse(v.body);
  CHECK(doc["in_flight"]["enqueued"] == 20000);
  CHECK(doc.contains("as_of"));

  // Asked every 20 ms for 1.5 s: at most one read per stretched interval (plus the one due).
  const int64_t before = ReportQueryCalls(db);
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < milliseconds(1500)) {
    REQUIRE(svc.Get("/v1/versions/v1").status == 200);
    std::this_thread::sleep_for(milliseconds(20));
  }
  const int64_t reads = ReportQueryCalls(db) - before;
  INFO("reads " << reads << ", stretched interval " << interval << " s");
  CHECK(reads <= static_cast<int64_t>(1.5 / interval) + 2);
  CHECK(reads < 15);  // what --refresh 100ms alone would allow

  bool logged = false;
  for (const auto& line : svc.LogLines()) {
    if (line.value("msg", std::string()).find("refresh throttled by --max-db-share") != std::string::npos) {
      logged = true;
      CHECK(line.contains("refresh_ms"));
      CHECK(line.contains("query_ms"));
    }
  }
  CHECK(logged);
}

TEST_CASE("within the budget the configured refresh and staleness bound apply", "[service][budget]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(std::chrono::hours(1)));
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  ServeConfig c = Config(db.url());
  c.extra_args = {"--max-db-share", "100%", "--max-staleness", "3s"};
  DrainService svc(c);
  HttpReply m = svc.Get("/metrics");
  REQUIRE(m.status == 200);
  CHECK(Sample(m.body, "dbos_drain_refresh_throttled") == 0);
  CHECK(Sample(m.body, "dbos_drain_refresh_interval_seconds") == Approx(0.2));
  CHECK(Sample(m.body, "dbos_drain_report_staleness_bound_seconds") == Approx(3));
  CHECK(Sample(m.body, "dbos_drain_report_database_seconds_total") >= 0);
}

TEST_CASE("a bad --max-db-share is a configuration error", "[service][budget]") {
  for (const char* bad : {"0", "0%", "150%", "-5%", "ten", "10%%", ""}) {
    auto r = dbos_drain::testing::RunProcess({dbos_drain::testing::DrainBinary(), "serve", "--max-db-share", bad,
                                              "--database-url", "postgresql://u@127.0.0.1:1/x"});
    INFO(bad << ": " << r.Describe());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--max-db-share"));
  }
}
