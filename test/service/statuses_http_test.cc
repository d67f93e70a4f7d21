// Issue 22 through `serve`: SUSPENDED and unknown statuses within the documented bound
// (core/status_ledger.h, docs/concepts.md "Statuses: how they are read"): a version whose last
// in-flight row goes SUSPENDED is never answered safe (the check runs in the same read); a row
// that arrives in such a status with an old created_at (an import) blocks within
// --status-check-interval plus one refresh; both are safe again once the rows finish.
#include <catch2/catch.hpp>

#include <thread>

#include <nlohmann/json.hpp>

#include "drain_service.h"

namespace dbos_drain::servicetest {
namespace {

using nlohmann::json;
using testing::AgoMs;
using testing::TestDatabase;
using testing::Workflow;
using namespace std::chrono_literals;

json Version(const DrainService& s, const std::string& v) {
  HttpReply r = s.Get("/v1/versions/" + v);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

bool Safe(const HttpReply& r) { return r.status == 200 && json::parse(r.body).at("safe_to_retire") == true; }
bool NotSafe(const HttpReply& r) { return r.status == 200 && json::parse(r.body).at("safe_to_retire") == false; }

}  // namespace

TEST_CASE("statuses http: SUSPENDED and unknown statuses through serve, within the bound", "[statuses][http]") {
  TestDatabase db;
  db.Exec("UPDATE dbos.dbos_migrations SET version = 130");  // newer than tested: said, not a blocker
  db.InsertVersion("v0", AgoMs(3h));
  db.InsertVersion("v1", AgoMs(2h));
  db.InsertVersion("v2", AgoMs(1h));  // latest
  db.InsertQueue("tasks", 10, 2, std::string("app-x"));
  const std::string id = db.InsertWorkflow(Workflow("PENDING").Version("v1").CreatedAgo(50min));
  DrainService server(Config(db, {"--status-check-interval", "1s"}));
  CHECK_FALSE(Version(server, "v1").at("safe_to_retire"));
  CHECK(Version(server, "v0").at("safe_to_retire"));
  {
    HttpReply q = server.Get("/v1/queues/tasks");
    INFO(q.body);
    REQUIRE(q.status == 200);
    CHECK(json::parse(q.body).at("application") == "app-x");  // KEDA's answer says whose queue it is
    CHECK(json::parse(q.body).at("suspended") == 0);
  }

  // v1's only row goes PENDING -> SUSPENDED: no answer in between may say safe.
  db.SetStatus(id, "SUSPENDED");
  const auto start = Clock::now();
  int answers = 0;
  while (Since(start) < 1500ms) {
    json v1 = Version(server, "v1");
    ++answers;
    INFO(v1.dump());
    REQUIRE(v1.at("safe_to_retire") == false);
    REQUIRE(v1.at("in_flight").at("total") == 1);
    std::this_thread::sleep_for(20ms);
  }
  CHECK(answers > 10);
  CHECK(Version(server, "v1").at("in_flight").at("suspended") == 1);

  // An imported row of v0, already SUSPENDED, created long ago: never seen in flight. It blocks
  // within the interval (1 s) plus a refresh (200 ms) and the read.
  const std::string imported = db.InsertWorkflow(Workflow("SUSPENDED").Version("v0").CreatedAgo(5h));
  HttpReply r = PollUntil(server, "/v1/versions/v0", NotSafe, 3s);
  CHECK(NotSafe(r));
  // An unknown status: its own blocker and metric.
  const std::string odd = db.InsertWorkflow(Workflow("HIBERNATING").Version("v0").CreatedAgo(5h));
  r = PollUntil(server, "/v1/versions/v0",
                [](const HttpReply& x) { return x.status == 200 && json::parse(x.body).at("unknown_statuses").size() == 1; }, 3s);
  INFO(r.body);
  json v0 = json::parse(r.body);
  CHECK(v0.at("unknown_statuses").at("HIBERNATING") == 1);
  CHECK(v0.at("blockers").size() == 2);
  HttpReply metrics = server.Get("/metrics");
  CHECK_THAT(metrics.body, Catch::Contains(
                               "dbos_drain_version_unknown_status_workflows{version=\"v0\",status=\"HIBERNATING\"} 1"));
  CHECK_THAT(metrics.body, Catch::Contains(
                               "dbos_drain_version_in_flight_workflows{version=\"v0\",queue=\"\",status=\"suspended\"} 1"));
  CHECK_THAT(metrics.body, Catch::Contains("dbos_drain_statuses_checked_timestamp_seconds "));
  CHECK_THAT(metrics.body, Catch::Contains("dbos_drain_schema_migration 130\n"));
  CHECK_THAT(metrics.body, Catch::Contains("dbos_drain_schema_newer_than_known 1\n"));

  // Back to safe once they finish (the next check: within the interval).
  db.Finish(id);
  db.Finish(imported);
  db.Finish(odd, "CANCELLED");
  CHECK(Safe(PollUntil(server, "/v1/versions/v1", Safe, 4s)));
  CHECK(Safe(PollUntil(server, "/v1/versions/v0", Safe, 4s)));
}

}  // namespace dbos_drain::servicetest
