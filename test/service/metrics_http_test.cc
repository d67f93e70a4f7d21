// GET /metrics against the real binary and a real PostgreSQL: promtool accepts the live output,
// and every value matches the rows the test inserted.
#include <catch2/catch.hpp>

#include <cmath>

#include "../unit/prometheus_parse.h"
#include "drain_service.h"
#include "table_lock.h"

namespace dbos_drain::servicetest {
namespace {

using prom::ParseExposition;
using testing::AgoMs;
using testing::TestDatabase;
using testing::Workflow;
using testing::NowMs;
using namespace std::chrono_literals;

const std::string kHostileVersion = "v\"1\\\n2 ü";
const std::string kHostileQueue = "q\"uo\\te\nnl → 日本";

// promtool (Debian package `prometheus`) must accept the text: syntax and naming lint.
void CheckWithPromtool(const std::string& text) {
  testing::ProcessOptions o;
  o.stdin_data = text;
  o.timeout = 30s;
  testing::ProcessResult r;
  try {
    r = testing::RunProcess({"promtool", "check", "metrics"}, o);
  } catch (const std::exception& e) {
    FAIL("cannot run promtool (install the Debian package prometheus: scripts/install-deps.sh): " << e.what());
  }
  INFO(r.Describe());
  INFO(text);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("error") == std::string::npos);
  CHECK(r.err.find("error") == std::string::npos);
}

}  // namespace

TEST_CASE("metrics http: live output passes promtool and matches the rows", "[metrics][http]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(3h));
  db.InsertVersion("v2", AgoMs(10min));
  db.InsertQueue("tasks", 10, 2);
  db.InsertQueue(kHostileQueue, std::nullopt, 3);
  db.InsertQueue("idle", std::nullopt, std::nullopt);
  db.InsertWorkflows(3, Workflow("PENDING").Version("v1").CreatedAgo(2h));
  db.InsertWorkflows(4, Workflow("ENQUEUED").Version("v1").Queue("tasks").CreatedAgo(30min));
  db.InsertWorkflows(1, Workflow("DELAYED").Version("v1").Queue("tasks").DelayUntil(NowMs() + 3'600'000));
  db.InsertWorkflows(2, Workflow("SUCCESS").Version("v1").Queue("tasks"));
  db.InsertWorkflows(1, Workflow("MAX_RECOVERY_ATTEMPTS_EXCEEDED").Version("v1"));
  db.InsertWorkflows(2, Workflow("PENDING").Version("v2").Queue("tasks").CreatedAgo(1min));
  db.InsertWorkflows(5, Workflow("ENQUEUED").Version(std::nullopt).Queue("tasks").Executor(std::string("")).CreatedAgo(5min));
  db.InsertWorkflows(1, Workflow("ENQUEUED").Version(std::nullopt).Executor(std::string("")).CreatedAgo(5min));
  db.InsertWorkflows(6, Workflow("ENQUEUED").Version(kHostileVersion).Queue(kHostileQueue).CreatedAgo(1h));
  DrainService server(Config(db));

  CHECK(server.Get("/v1/versions").status == 200);
  CHECK(server.Get("/v1/versions").status == 200);
  CHECK(server.Get("/healthz").status == 200);
  CHECK(server.Get("/nope").status == 404);

  HttpReply r = server.Get("/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.Header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  CheckWithPromtool(r.body);
  auto e = ParseExposition(r.body);
  const double now_s = NowMs() / 1000.0;

  CHECK(e.Value("dbos_drain_database_up") == 1.0);
  auto build = e.Find("dbos_drain_build_info");
  REQUIRE(build.size() == 1);
  CHECK(build[0]->value == 1.0);
  CHECK_FALSE(build[0]->labels.at("version").empty());
  CHECK(e.Value("dbos_drain_http_requests_total", {{"route", "/v1/versions"}, {"code", "200"}}) == 2.0);
  CHECK(e.Value("dbos_drain_http_requests_total", {{"route", "/healthz"}, {"code", "200"}}) == 1.0);
  CHECK(e.Value("dbos_drain_http_requests_total", {{"route", "unmatched"}, {"code", "404"}}) == 1.0);
  CHECK(*e.Value("dbos_drain_report_query_duration_seconds_count") >= 1.0);
  CHECK(*e.Value("dbos_drain_report_query_duration_seconds_bucket", {{"le", "+Inf"}}) ==
        *e.Value("dbos_drain_report_query_duration_seconds_count"));
  auto last = e.Value("dbos_drain_last_successful_read_timestamp_seconds");
  REQUIRE(last);
  CHECK(std::fabs(*last - now_s) < 60);
  CHECK(*e.Value("dbos_drain_report_age_seconds") < 5);

  auto vf = [&](const std::string& v, const std::string& q, const std::string& st) {
    auto x = e.Value("dbos_drain_version_in_flight_workflows", {{"version", v}, {"queue", q}, {"status", st}});
    return x ? *x : -1.0;
  };
  CHECK(vf("v1", "", "pending") == 3);
  CHECK(vf("v1", "", "enqueued") == 0);
  CHECK(vf("v1", "tasks", "enqueued") == 4);
  CHECK(vf("v1", "tasks", "delayed") == 1);
  CHECK(vf("v1", "tasks", "pending") == 0);
  CHECK(vf("v2", "tasks", "pending") == 2);
  CHECK(vf("v2", "tasks", "enqueued") == 5);  // the NULL-version rows v2's workers will take
  CHECK(vf("v2", "", "enqueued") == 1);
  CHECK(vf(kHostileVersion, kHostileQueue, "enqueued") == 6);
  CHECK(e.Value("dbos_drain_version_drained", {{"version", "v1"}}) == 0.0);
  CHECK(e.Value("dbos_drain_version_drained", {{"version", "v2"}}) == 0.0);
  CHECK(e.Value("dbos_drain_version_latest", {{"version", "v1"}}) == 0.0);
  CHECK(e.Value("dbos_drain_version_latest", {{"version", "v2"}}) == 1.0);
  CHECK(e.Value("dbos_drain_version_latest", {{"version", kHostileVersion}}) == 0.0);
  CHECK(*e.Value("dbos_drain_version_oldest_in_flight_age_seconds", {{"version", "v1"}}) == Approx(7200).margin(30));
  CHECK(*e.Value("dbos_drain_version_oldest_in_flight_age_seconds", {{"version", "v2"}}) == Approx(300).margin(30));
  CHECK(*e.Value("dbos_drain_version_oldest_in_flight_age_seconds", {{"version", kHostileVersion}}) ==
        Approx(3600).margin(30));

  auto qf = [&](const std::string& q, const std::string& st) {
    auto x = e.Value("dbos_drain_queue_in_flight_workflows", {{"queue", q}, {"status", st}});
    return x ? *x : -1.0;
  };
  CHECK(qf("tasks", "pending") == 2);
  CHECK(qf("tasks", "enqueued") == 9);
  CHECK(qf("tasks", "delayed") == 1);
  CHECK(qf("idle", "pending") == 0);
  CHECK(qf("idle", "enqueued") == 0);
  CHECK(qf(kHostileQueue, "enqueued") == 6);
  CHECK(e.Value("dbos_drain_queue_worker_concurrency", {{"queue", "tasks"}}) == 2.0);
  CHECK(e.Value("dbos_drain_queue_concurrency", {{"queue", "tasks"}}) == 10.0);
  CHECK(e.Value("dbos_drain_queue_worker_concurrency", {{"queue", kHostileQueue}}) == 3.0);
  CHECK_FALSE(e.Value("dbos_drain_queue_concurrency", {{"queue", kHostileQueue}}));
  CHECK_FALSE(e.Value("dbos_drain_queue_worker_concurrency", {{"queue", "idle"}}));

  CHECK(e.Value("dbos_drain_unassigned_workflows", {{"queue", "tasks"}, {"status", "enqueued"}}) == 5.0);
  CHECK(e.Value("dbos_drain_unassigned_workflows", {{"queue", ""}, {"status", "enqueued"}}) == 1.0);

  // The numbers follow the database: v1's work finishes.
  db.Exec("UPDATE " + db.Table("workflow_status") + " SET status = 'SUCCESS' WHERE application_version = 'v1'");
  HttpReply after = PollUntil([&] { return server.Get("/metrics"); }, [](const HttpReply& x) {
    auto p = ParseExposition(x.body);
    return p.Value("dbos_drain_version_drained", {{"version", "v1"}}) == 1.0;
  });
  auto a = ParseExposition(after.body);
  CHECK(a.Value("dbos_drain_version_drained", {{"version", "v1"}}) == 1.0);
  CHECK(a.Value("dbos_drain_version_oldest_in_flight_age_seconds", {{"version", "v1"}}) == 0.0);
  CHECK(a.Value("dbos_drain_queue_in_flight_workflows", {{"queue", "tasks"}, {"status", "enqueued"}}) == 5.0);
  CheckWithPromtool(after.body);
}

TEST_CASE("metrics http: database unreadable: own metrics, database_up 0, no version series", "[metrics][http]") {
  TestDatabase db;
  DrainService server(UnreadableConfig(db));
  HttpReply r = server.Get("/metrics");
  REQUIRE(r.status == 200);
  CheckWithPromtool(r.body);
  auto e = ParseExposition(r.body);
  CHECK(e.Value("dbos_drain_database_up") == 0.0);
  CHECK_FALSE(e.HasPrefix("dbos_drain_version_"));
  CHECK_FALSE(e.HasPrefix("dbos_drain_queue_"));
  CHECK_FALSE(e.HasPrefix("dbos_drain_unassigned_"));
  CHECK_FALSE(e.Value("dbos_drain_last_successful_read_timestamp_seconds"));
  CHECK(*e.Value("dbos_drain_report_read_errors_total", {{"code", "database_unavailable"}}) >= 1.0);
  CHECK(e.Find("dbos_drain_build_info").size() == 1);
}

TEST_CASE("metrics http: a hanging database holds a scrape no longer than the query timeout", "[metrics][http]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(1h));
  db.InsertWorkflows(2, Workflow("PENDING").Version("v1"));
  // Another session holds an exclusive lock: the report query waits until statement_timeout.
  testing::TableLock lock(db, "workflow_status");
  ServeConfig cfg = Config(db);
  cfg.query_timeout = "1s";
  cfg.wait_ready = false;  // it cannot be ready: the table is locked
  DrainService server(cfg);

  HttpReply r = server.Get("/metrics");
  REQUIRE(r.status == 200);
  // The cache waits at most --query-timeout + 1 s for a read.
  INFO("scrape took " << r.elapsed.count() << " ms");
  CHECK(r.elapsed < 2500ms);
  auto e = ParseExposition(r.body);
  CHECK(e.Value("dbos_drain_database_up") == 0.0);
  CHECK_FALSE(e.HasPrefix("dbos_drain_version_"));
  CheckWithPromtool(r.body);
  // Other routes say why.
  HttpReply v = server.Get("/v1/versions");
  CHECK(v.status == 503);

  lock.Release();
  HttpReply up = PollUntil([&] { return server.Get("/metrics"); }, [](const HttpReply& x) {
    return ParseExposition(x.body).Value("dbos_drain_database_up") == 1.0;
  });
  auto u = ParseExposition(up.body);
  CHECK(u.Value("dbos_drain_database_up") == 1.0);
  CHECK(u.Value("dbos_drain_version_in_flight_workflows", {{"version", "v1"}, {"queue", ""}, {"status", "pending"}}) ==
        2.0);
  CHECK(*u.Value("dbos_drain_report_read_errors_total", {{"code", "query_timeout"}}) >= 1.0);
}

}  // namespace dbos_drain::servicetest
