// GET /v1/patches and the patch series of /metrics against the real `dbos-drain serve`, a real
// PostgreSQL with SDK-shaped rows (test/support/patch_scenario.h), over loopback HTTP.
#include <catch2/catch.hpp>

#include <thread>

#include "drain_service.h"
#include "patch_scenario.h"
#include "test_database.h"

using namespace dbos_drain::servicetest;
using dbos_drain::testing::LoadPatchScenario;
using dbos_drain::testing::TestDatabase;

namespace {

void CheckWithPromtool(const std::string& text) {
  dbos_drain::testing::ProcessOptions o;
  o.stdin_data = text;
  o.timeout = std::chrono::seconds(30);
  auto r = dbos_drain::testing::RunProcess({"promtool", "check", "metrics"}, o);
  INFO(r.Describe());
  INFO(text);
  CHECK(r.exit_code == 0);
}

}  // namespace

TEST_CASE("GET /v1/patches: the document, HEAD, method, auth", "[service][patch]") {
  TestDatabase db;
  LoadPatchScenario(db);
  TempDir dir;
  dir.Write("token", "s3cret\n");
  ServeConfig c = Config(db.url());
  c.extra_args = {"--auth-token-file", dir.File("token")};
  DrainService service(c);

  RequestOptions auth;
  auth.headers.push_back({"Authorization", "Bearer s3cret"});
  HttpReply r = service.Get("/v1/patches", auth);
  INFO(r.Describe());
  REQUIRE(r.status == 200);
  CHECK(r.Header("content-type") == "application/json");
  auto j = r.Json();
  CHECK(j.at("age_seconds").get<double>() >= 0);
  CHECK(j.at("as_of").is_string());
  REQUIRE(j.at("patches").size() == 2);
  const auto& fast = j.at("patches").at(1);
  CHECK(fast.at("name") == "fast-path");
  CHECK(fast.at("in_flight_with_marker") == 1);
  CHECK(fast.at("blocking_deprecation") == 3);
  CHECK(fast.at("safe_to_deprecate") == false);
  CHECK(fast.at("safe_to_remove") == false);
  CHECK(j.at("patches").at(0).at("safe_to_remove") == true);

  CHECK(service.Get("/v1/patches").status == 401);  // protected like /v1/versions
  HttpReply head = service.Request("HEAD", "/v1/patches", auth);
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  HttpReply post = service.Request("POST", "/v1/patches", auth);
  CHECK(post.status == 405);
  CHECK(post.Header("allow") == "GET, HEAD");

  // Safe once the workflows finish (after the refresh interval).
  for (const char* id : {"marked", "old-recv", "old-branch", "resumed"}) db.SetStatus(id, "SUCCESS");
  HttpReply done;
  for (int i = 0; i < 100; ++i) {  // up to 5 s; the refresh interval is 200 ms
    done = service.Get("/v1/patches", auth);
    if (done.status == 200 && done.Json().at("patches").at(1).at("safe_to_remove") == true) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(done.Describe());
  CHECK(done.Json().at("patches").at(1).at("safe_to_deprecate") == true);
  CHECK(done.Json().at("patches").at(1).at("safe_to_remove") == true);
}

TEST_CASE("GET /v1/patches on a schema without operation_outputs: 503 schema_unrecognized; versions unaffected",
          "[service][patch]") {
  TestDatabase db("schema-ts-3x.sql");
  DrainService service(Config(db.url()));
  HttpReply r = service.Get("/v1/patches");
  INFO(r.Describe());
  CHECK(IsJsonError(r, 503, "schema_unrecognized"));
  CHECK_THAT(r.body, Catch::Contains("operation_outputs does not exist"));
  CHECK(r.Header("retry-after") == "1");
  CHECK(service.Get("/v1/versions").status == 200);
}

TEST_CASE("/metrics: patch series with --patch-metrics only", "[service][patch][metrics]") {
  TestDatabase db;
  LoadPatchScenario(db);
  {
    DrainService plain(Config(db.url()));
    HttpReply m = plain.Get("/metrics");
    REQUIRE(m.status == 200);
    CHECK(m.body.find("dbos_drain_patch_") == std::string::npos);
  }
  ServeConfig c = Config(db.url());
  c.extra_args = {"--patch-metrics"};
  DrainService service(c);
  HttpReply m = service.Get("/metrics");
  INFO(m.Describe());
  REQUIRE(m.status == 200);
  CheckWithPromtool(m.body);
  for (const char* line : {
           "dbos_drain_patch_report_up 1\n",
           "dbos_drain_patch_in_flight_with_marker{patch=\"fast-path\"} 1\n",
           "dbos_drain_patch_blocking_deprecation{patch=\"fast-path\"} 3\n",
           "dbos_drain_patch_safe_to_deprecate{patch=\"fast-path\"} 0\n",
           "dbos_drain_patch_safe_to_remove{patch=\"fast-path\"} 0\n",
           "dbos_drain_patch_in_flight_with_marker{patch=\"audit-log\"} 0\n",
           "dbos_drain_patch_blocking_deprecation{patch=\"audit-log\"} 0\n",
           "dbos_drain_patch_safe_to_deprecate{patch=\"audit-log\"} 1\n",
           "dbos_drain_patch_safe_to_remove{patch=\"audit-log\"} 1\n",
       }) {
    CHECK_THAT(m.body, Catch::Contains(line));
  }
  // The version families are still there.
  CHECK_THAT(m.body, Catch::Contains("dbos_drain_database_up 1"));
}
