// Issue 22: statuses dbos-drain did not know at TS 5.3.0, end to end with the real binary.
// SUSPENDED (Python 3.5+, TS 5.5+, Java 1.4: a workflow waiting in recv/sleep outside memory) is
// in flight; any other status that is not a known finished one blocks its version (unknown_status),
// and a NULL-version row of such a status blocks every version. Every gate agrees, and the
// version is safe again once those rows finish.
#include "cli_helpers.h"

using namespace dbos_drain::clitest;
using dbos_drain::testing::AgoMs;
using std::chrono::hours;
using std::chrono::minutes;

namespace {

// status V's exit code, the table's RETIRE cell and --retirable agree on `safe`; returns V's JSON.
nlohmann::json Gates(const TestDatabase& db, const std::string& version, bool safe) {
  ProcessResult table = RunDrain(Args({"status", version}, db));
  INFO(table.Describe());
  CHECK(table.exit_code == (safe ? 0 : 1));
  CHECK(ParseTable(table.out).at(0)["RETIRE"] == (safe ? "safe" : "no"));
  ProcessResult names = RunDrain(Args({"status", "--retirable"}, db));
  auto lines = Lines(names.out);
  CHECK((std::find(lines.begin(), lines.end(), version) != lines.end()) == safe);
  ProcessResult json = RunDrain(Args({"status", version, "--json"}, db));
  INFO(json.Describe());
  CHECK(json.exit_code == table.exit_code);
  nlohmann::json v = VersionIn(ParseJson(json), version);
  CHECK(v.at("safe_to_retire") == safe);
  return v;
}

bool HasBlocker(const nlohmann::json& v, const std::string& code) {
  for (const auto& b : v.at("blockers")) {
    if (b.at("code") == code) return true;
  }
  return false;
}

std::string BlockerMessage(const nlohmann::json& v, const std::string& code) {
  for (const auto& b : v.at("blockers")) {
    if (b.at("code") == code) return b.at("message").get<std::string>();
  }
  return "";
}

}  // namespace

TEST_CASE("statuses: SUSPENDED is in flight, an unknown status blocks, both until they finish", "[cli][statuses]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(hours(2)));
  db.InsertVersion("v2", AgoMs(hours(1)));  // latest
  db.InsertWorkflows(2, Workflow("SUCCESS").Version("v1").CreatedAgo(hours(2)).CompletedAgo(hours(2)));
  Gates(db, "v1", true);  // the baseline: v1 finished long ago

  SECTION("SUSPENDED: counted, in the table, the JSON and retire_hold; no eta") {
    const std::string id = db.InsertWorkflow(Workflow("SUSPENDED").Version("v1").Queue("tasks").CreatedAgo(minutes(50)));
    nlohmann::json v = Gates(db, "v1", false);
    CHECK(v.at("in_flight").at("suspended") == 1);
    CHECK(v.at("in_flight").at("total") == 1);
    CHECK(v.at("queues").at("tasks").at("suspended") == 1);
    CHECK(v.at("drained") == false);
    CHECK(v.at("retire_hold") == 1);
    CHECK(v.at("eta_seconds").is_null());  // a suspended wait says nothing of when it ends
    CHECK(HasBlocker(v, "in_flight"));
    CHECK_THAT(BlockerMessage(v, "in_flight"), Catch::Contains("1 suspended"));
    ProcessResult table = RunDrain(Args({"status", "v1"}, db));
    CHECK(ParseTable(table.out).at(0)["SUSPENDED"] == "1");

    db.Finish(id);
    Gates(db, "v1", true);
  }

  SECTION("a status no SDK had at TS 5.3.0: unknown_status names it and its count") {
    const std::string id = db.InsertWorkflow(Workflow("HIBERNATING").Version("v1").CreatedAgo(minutes(50)));
    nlohmann::json v = Gates(db, "v1", false);
    CHECK(v.at("unknown_statuses") == nlohmann::json{{"HIBERNATING", 1}});
    CHECK(v.at("drained") == false);
    CHECK(v.at("phase") == "unknown");
    CHECK(v.at("retire_hold") == 1);
    const std::string m = BlockerMessage(v, "unknown_status");
    CHECK_THAT(m, Catch::Contains("1 workflow of v1"));
    CHECK_THAT(m, Catch::Contains("HIBERNATING"));
    CHECK_THAT(m, Catch::Contains("upgrade dbos-drain"));

    db.Finish(id);
    Gates(db, "v1", true);
  }

  SECTION("NULL-version rows: SUSPENDED counts toward the latest; an unknown status blocks every version") {
    db.InsertWorkflow(Workflow("SUSPENDED").Version(std::nullopt).Executor(std::string("")).CreatedAgo(minutes(50)));
    nlohmann::json v1 = Gates(db, "v1", true);
    CHECK(v1.at("in_flight").at("suspended") == 0);
    ProcessResult all = RunDrain(Args({"status", "--json"}, db));
    nlohmann::json report = ParseJson(all);
    CHECK(report.at("unassigned").at("suspended") == 1);
    CHECK(VersionIn(report, "v2").at("in_flight").at("suspended") == 1);

    const std::string id = db.InsertWorkflow(
        Workflow("HIBERNATING").Version(std::nullopt).Executor(std::string("")).CreatedAgo(minutes(50)));
    v1 = Gates(db, "v1", false);
    CHECK(v1.at("unknown_statuses") == nlohmann::json{{"HIBERNATING", 1}});
    CHECK_THAT(BlockerMessage(v1, "unknown_status"), Catch::Contains("without a version"));
    report = ParseJson(RunDrain(Args({"status", "--json"}, db)));
    CHECK(report.at("unassigned").at("unknown_statuses") == nlohmann::json{{"HIBERNATING", 1}});

    db.Finish(id, "CANCELLED");
    Gates(db, "v1", true);
  }

  SECTION("an unregistered version seen only in an unknown status is known and blocked") {
    db.InsertWorkflow(Workflow("HIBERNATING").Version("v0").CreatedAgo(hours(3)));
    nlohmann::json v0 = Gates(db, "v0", false);
    CHECK(v0.at("known") == true);
    CHECK(HasBlocker(v0, "unknown_status"));
  }
}

TEST_CASE("schema generations: a migration level above the newest known is read and said, not a blocker",
          "[cli][statuses]") {
  TestDatabase db;
  db.Exec("UPDATE dbos.dbos_migrations SET version = 130");  // Java 1.4's level; DDL of 124-130 not public
  db.InsertVersion("v1", AgoMs(hours(2)));
  db.InsertVersion("v2", AgoMs(hours(1)));
  ProcessResult json = RunDrain(Args({"status", "v1", "--json"}, db));
  INFO(json.Describe());
  CHECK(json.exit_code == 0);  // the shape check decides; v1 is idle and not latest
  nlohmann::json report = ParseJson(json);
  CHECK(report.at("schema").at("migration") == 130);
  CHECK(report.at("schema").at("newest_known_migration") == 123);
  CHECK(report.at("schema").at("migration_newer_than_known") == true);
  ProcessResult table = RunDrain(Args({"status", "v1"}, db));
  CHECK(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("schema migration 130 is newer than the newest dbos-drain was tested with (123)"));

  db.Exec("UPDATE dbos.dbos_migrations SET version = 123");
  report = ParseJson(RunDrain(Args({"status", "--json"}, db)));
  CHECK(report.at("schema").at("migration_newer_than_known") == false);
}

TEST_CASE("executors: a DBOSClient session is never taken for an executor", "[cli][statuses]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(hours(2)));
  db.InsertVersion("v2", AgoMs(hours(1)));
  db.InsertWorkflow(Workflow("PENDING").Version("v1").Executor(std::string("pod-a")).CreatedAgo(minutes(50)));
  pqxx::connection client(db.KeyValueUrl() + " application_name=dbos_transact_client");
  pqxx::connection python(db.KeyValueUrl() + " application_name=dbos_transact");
  ProcessResult r = RunDrain(Args({"status", "v1", "--json"}, db));
  INFO(r.Describe());
  const nlohmann::json report = ParseJson(r);
  const auto& v1 = VersionIn(report, "v1");
  CHECK(v1.at("connected_executors").is_null());  // unknown, not "none connected"
  CHECK(v1.at("executors").at("pod-a").at("connected").is_null());
  CHECK(v1.at("phase") == "draining");  // not stuck
}
