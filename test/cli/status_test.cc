// `dbos-drain status` end to end: the real binary against a real database.
#include "cli_helpers.h"

#include <regex>

using namespace dbos_drain::clitest;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::SourceDir;
using std::chrono::hours;
using std::chrono::minutes;

TEST_CASE("status --json on the crashed-v1-v2 database reports v1 and v2 as the issue says", "[cli][status]") {
  TestDatabase db("snapshot-crashed-v1-v2.sql");
  ProcessResult r = RunDrain(Args({"status", "--json"}, db));
  INFO(r.Describe());
  CHECK(r.exit_code == 0);  // no version named: the report was read
  CHECK(r.err.empty());
  auto j = ParseJson(r);
  CHECK(std::regex_match(j.at("as_of").get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  CHECK(j.at("latest_version") == "v2");
  CHECK(j.at("schema").at("name") == "dbos");
  CHECK(j.at("schema").at("database") == db.name());
  CHECK(j.at("schema").at("migration") == 123);
  CHECK(j.at("schema").at("has_application_versions") == true);
  CHECK(j.at("versions").size() == 2);

  const auto& v1 = VersionIn(j, "v1");
  CHECK(v1.at("known") == true);
  CHECK(v1.at("latest") == false);
  CHECK(v1.at("drained") == false);
  CHECK(v1.at("reason").is_null());
  CHECK(v1.at("in_flight").at("pending") == 3);
  CHECK(v1.at("in_flight").at("enqueued") == 4);
  CHECK(v1.at("in_flight").at("delayed") == 0);
  CHECK(v1.at("in_flight").at("total") == 7);
  CHECK(v1.at("queues").at("tasks").at("enqueued") == 4);
  CHECK(v1.at("not_queued").at("pending") == 3);
  CHECK(v1.at("executors").at("worker-v1").at("total") == 7);
  CHECK(v1.at("registered_at") == "2026-11-26T07:21:43.560Z");
  CHECK(v1.at("oldest_in_flight_at") == "2026-11-26T07:21:43.675Z");
  CHECK_THAT(v1.at("summary").get<std::string>(), Catch::StartsWith("v1 not drained: 3 pending, 4 enqueued (tasks), oldest "));

  const auto& v2 = VersionIn(j, "v2");
  CHECK(v2.at("latest") == true);
  CHECK(v2.at("drained") == false);
  CHECK(v2.at("in_flight").at("pending") == 1);
  CHECK(v2.at("in_flight").at("total") == 1);
}

TEST_CASE("status exits 1 when a named version is not safe to retire, 0 when all are", "[cli][status]") {
  TestDatabase db("snapshot-crashed-v1-v2.sql");
  db.InsertVersion("v0", 1795677700000);  // registered earlier, every workflow finished long ago
  db.InsertWorkflows(2, Workflow("SUCCESS").Version("v0").CreatedAgo(hours(1)));

  ProcessResult v1 = RunDrain(Args({"status", "v1"}, db));
  INFO(v1.Describe());
  CHECK(v1.exit_code == 1);
  auto rows = ParseTable(v1.out);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["VERSION"] == "v1");
  CHECK(rows[0]["DRAINED"] == "no");

  ProcessResult v1json = RunDrain(Args({"status", "v1", "--json"}, db));
  CHECK(v1json.exit_code == 1);
  auto j = ParseJson(v1json);
  REQUIRE(j.at("versions").size() == 1);
  CHECK(j.at("versions").at(0).at("version") == "v1");

  CHECK(RunDrain(Args({"status", "v2"}, db)).exit_code == 1);
  ProcessResult v0 = RunDrain(Args({"status", "v0"}, db));
  INFO(v0.Describe());
  CHECK(v0.exit_code == 0);
  CHECK(ParseTable(v0.out).at(0)["DRAINED"] == "yes");
  CHECK(RunDrain(Args({"status", "v0", "v1"}, db)).exit_code == 1);

  // The verdict follows the database: finish v1's work and it drains (v1's rows, from the SDK
  // snapshot, were started long ago, so no recent intake holds it).
  db.Exec("UPDATE dbos.workflow_status SET status = 'SUCCESS' WHERE application_version = 'v1'");
  ProcessResult after = RunDrain(Args({"status", "v0", "v1", "--json"}, db));
  INFO(after.Describe());
  CHECK(after.exit_code == 0);
  CHECK(VersionIn(ParseJson(after), "v1").at("drained") == true);
  CHECK(VersionIn(ParseJson(after), "v1").at("safe_to_retire") == true);
}

TEST_CASE("the table shows the documented columns", "[cli][status]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(hours(5)));
  db.InsertVersion("v2", AgoMs(hours(1)));
  db.InsertWorkflows(3, Workflow("PENDING").Version("v1").Executor("pod-a").CreatedAgo(hours(2) + minutes(5)));
  db.InsertWorkflows(4, Workflow("ENQUEUED").Version("v1").Queue("tasks").Executor("pod-b"));
  db.InsertWorkflow(Workflow("DELAYED").Version("v2").Queue("later").Executor("pod-c").CreatedAgo(minutes(3)));
  db.InsertWorkflow(Workflow("ENQUEUED").Version(std::nullopt).Queue("tasks").Executor(std::string("")));

  ProcessResult r = RunDrain(Args({"status"}, db));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  auto lines = Lines(r.out);
  REQUIRE_FALSE(lines.empty());
  CHECK(std::regex_match(lines[0],
                         std::regex("VERSION +LATEST +PENDING +ENQUEUED +DELAYED +SUSPENDED +OLDEST +EXECUTORS +DRAINED +PHASE +RETIRE")));
  auto rows = ParseTable(r.out);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == std::map<std::string, std::string>{{"VERSION", "v1"}, {"LATEST", "-"}, {"PENDING", "3"},
                                                      {"ENQUEUED", "4"}, {"DELAYED", "0"}, {"SUSPENDED", "0"}, {"OLDEST", "2h 5m"},
                                                      {"EXECUTORS", "pod-a,pod-b"}, {"DRAINED", "no"},
                                                      {"PHASE", "active"}, {"RETIRE", "no"}});
  CHECK(rows[1]["VERSION"] == "v2");
  CHECK(rows[1]["LATEST"] == "yes");
  CHECK(rows[1]["ENQUEUED"] == "1");  // the client-enqueued row counts toward the latest version
  CHECK(rows[1]["DELAYED"] == "1");
  CHECK(rows[1]["EXECUTORS"] == "(none),pod-c");
  CHECK(rows[1]["DRAINED"] == "no");
  CHECK_THAT(r.out, Catch::Contains("unassigned (NULL version, taken by the latest version v2): 1 in flight"));
  CHECK_THAT(r.out, Catch::Contains("(database " + db.name() + ", schema dbos)"));
}

TEST_CASE("an unknown version is not drained unless --unknown-version=drained", "[cli][status]") {
  TestDatabase db("schema-ts-3x.sql");
  db.InsertWorkflows(2, Workflow("SUCCESS").Version("v0").CreatedAgo(hours(1)));

  ProcessResult known = RunDrain(Args({"status", "v0"}, db));
  INFO(known.Describe());
  CHECK(known.exit_code == 0);  // only finished rows: known through its history, drained

  ProcessResult typo = RunDrain(Args({"status", "v0", "v0-typo"}, db));
  INFO(typo.Describe());
  CHECK(typo.exit_code == 1);
  auto rows = ParseTable(typo.out);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1]["DRAINED"] == "no (unknown)");
  CHECK_THAT(typo.out, Catch::Contains("v0-typo: version \"v0-typo\" is unknown"));

  ProcessResult json = RunDrain(Args({"status", "v0-typo", "--json"}, db));
  CHECK(json.exit_code == 1);
  const auto report = ParseJson(json);
  const auto& v = VersionIn(report, "v0-typo");
  CHECK(v.at("known") == false);
  CHECK_THAT(v.at("reason").get<std::string>(), Catch::Contains("--unknown-version=drained"));

  ProcessResult let_through = RunDrain(Args({"status", "v0-typo", "--unknown-version=drained", "--json"}, db));
  INFO(let_through.Describe());
  // `drained` is let through; an unknown version is never safe to retire, so the exit is 1.
  CHECK(let_through.exit_code == 1);
  CHECK(VersionIn(ParseJson(let_through), "v0-typo").at("drained") == true);
  CHECK(VersionIn(ParseJson(let_through), "v0-typo").at("safe_to_retire") == false);
}

TEST_CASE("--application scopes the counts, and is ignored with a warning on old schemas", "[cli][status]") {
  SECTION("newest schema") {
    TestDatabase db;
    db.InsertWorkflows(2, Workflow("PENDING").Version("v1").Application(std::string("shop")));
    db.InsertWorkflows(3, Workflow("PENDING").Version("v1").Application(std::string("other")));
    ProcessResult r = RunDrain(Args({"status", "--json", "--application", "shop"}, db));
    INFO(r.Describe());
    CHECK(r.exit_code == 0);
    auto j = ParseJson(r);
    CHECK(j.at("application") == "shop");
    CHECK(j.at("application_filter_ignored") == false);
    CHECK(VersionIn(j, "v1").at("in_flight").at("pending") == 2);
  }
  SECTION("old schema") {
    TestDatabase db("schema-ts-3x.sql");
    db.InsertWorkflows(3, Workflow("PENDING").Version("v1"));
    ProcessResult r = RunDrain(Args({"status", "--json", "--application", "shop"}, db));
    INFO(r.Describe());
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("warning: --application ignored"));
    auto j = ParseJson(r);
    CHECK(j.at("application_filter_ignored") == true);
    CHECK(VersionIn(j, "v1").at("in_flight").at("pending") == 3);
  }
}

TEST_CASE("old shapes work end to end", "[cli][status]") {
  TestDatabase db("schema-go-0x.sql");
  db.InsertWorkflows(2, Workflow("PENDING").Version("v1"));  // queue_name '' (the Go SDK default)
  db.InsertWorkflow(Workflow("DELAYED").Version("v1").Queue("later").DelayUntil(AgoMs(-hours(1))));
  ProcessResult r = RunDrain(Args({"status", "v1", "--json"}, db));
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  auto j = ParseJson(r);
  CHECK(j.at("latest_version").is_null());
  CHECK(j.at("schema").at("has_application_versions") == false);
  const auto& v1 = VersionIn(j, "v1");
  CHECK(v1.at("not_queued").at("pending") == 2);
  CHECK(v1.at("queues").at("later").at("delayed") == 1);
  CHECK(v1.at("queues").size() == 1);
}

TEST_CASE("a custom --schema is read; a missing one is exit 2 naming database and schema", "[cli][status][errors]") {
  TestDatabase db("schema-newest.sql", "tenant_dbos");
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  ProcessResult ok = RunDrain(Args({"status", "v1"}, db));  // Args adds --schema tenant_dbos
  INFO(ok.Describe());
  CHECK(ok.exit_code == 1);
  CHECK(ParseTable(ok.out).at(0)["PENDING"] == "1");

  ProcessResult missing = RunDrain({"status", "--database-url", db.url()});  // default schema dbos
  INFO(missing.Describe());
  CHECK(missing.exit_code == 2);
  CHECK(missing.out.empty());
  CHECK_THAT(missing.err, Catch::Contains("no DBOS system database found"));
  CHECK_THAT(missing.err, Catch::Contains("database \"" + db.name() + "\""));
  CHECK_THAT(missing.err, Catch::Contains("schema \"dbos\""));

  ProcessResult wrong = RunDrain({"status", "--json", "--database-url", db.url(), "--schema", "nope"});
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.out.empty());  // never an empty, drained report
  CHECK_THAT(wrong.err, Catch::Contains("schema \"nope\""));
}

TEST_CASE("a role without SELECT is exit 2 with a permission message", "[cli][status][errors]") {
  TestDatabase db;
  const std::string role = db.CreateRole("dd_cli_noselect", "Role-Secret-77", false);
  ProcessResult r = RunDrain({"status", "v1", "--database-url", db.UrlAs(role, "Role-Secret-77")});
  INFO(r.Describe());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("permission denied"));
  CHECK_THAT(r.out + r.err, !Catch::Contains("Role-Secret-77"));
}

TEST_CASE("scripts/load-demo.sh loads a drained, a not-drained and a latest version", "[cli][status][demo]") {
  TestDatabase db("");
  ProcessResult load = dbos_drain::testing::RunProcess({"bash", SourceDir() + "/scripts/load-demo.sh", db.url()});
  INFO(load.Describe());
  REQUIRE(load.exit_code == 0);

  // v1 (registered 3 days ago, drained 2 days ago) is hidden from the default listing.
  auto listed = ParseJson(RunDrain(Args({"status", "--json"}, db)));
  CHECK(listed.at("hidden_versions") == 1);
  CHECK(listed.at("versions").size() == 2);
  ProcessResult r = RunDrain(Args({"status", "--json", "--all"}, db));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  auto j = ParseJson(r);
  CHECK(j.at("latest_version") == "v3");
  CHECK(VersionIn(j, "v1").at("drained") == true);
  const auto& v2 = VersionIn(j, "v2");
  CHECK(v2.at("drained") == false);
  CHECK(v2.at("in_flight").at("pending") == 2);
  CHECK(v2.at("in_flight").at("enqueued") == 3);
  CHECK(v2.at("queues").at("tasks").at("enqueued") == 3);
  CHECK_THAT(v2.at("summary").get<std::string>(), Catch::Matches(R"(v2 not drained: 2 pending, 3 enqueued \(tasks\), oldest 2h 5m)"));
  const auto& v3 = VersionIn(j, "v3");
  CHECK(v3.at("latest") == true);
  CHECK(v3.at("unassigned_in_flight") == 1);
  CHECK(v3.at("in_flight").at("total") == 2);

  CHECK(RunDrain(Args({"status", "v1"}, db)).exit_code == 0);
  CHECK(RunDrain(Args({"status", "v2"}, db)).exit_code == 1);

  ProcessResult usage = dbos_drain::testing::RunProcess({"bash", SourceDir() + "/scripts/load-demo.sh"});
  CHECK(usage.exit_code == 2);
  CHECK_THAT(usage.err, Catch::Contains("usage"));
}
