// Issue 7, least privilege: `dbos-drain serve` runs as the role examples/sql/readonly-role.sql
// creates, serves correct verdicts, and a write through the same connection settings is refused.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <pqxx/pqxx>

#include "drain_service.h"
#include "pqxx_failure.h"
#include "test_database.h"

using namespace dbos_drain::servicetest;
using dbos_drain::testing::AdminUrl;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::RoleGuard;
using dbos_drain::testing::ProcessResult;
using dbos_drain::testing::RunProcess;
using dbos_drain::testing::SourceDir;
using dbos_drain::testing::TestDatabase;
using dbos_drain::testing::Workflow;

namespace {

// Runs `sql` on a connection made from `url` (after `setup`, its own statement); returns the
// SQLSTATE it failed with, "" on success.
std::string SqlStateOf(const std::string& url, const std::string& sql, const std::string& setup = "") {
  pqxx::connection c(url);
  try {
    pqxx::nontransaction tx(c);
    if (!setup.empty()) tx.exec(setup);
    tx.exec(sql);
    return "";
  } catch (const pqxx::sql_error& e) {
    // libpqxx 6 throws some errors (insufficient_privilege) without their SQLSTATE: the
    // library's own fallback (lib/db/pqxx_failure.h, unit-tested) recovers it from the type.
    const std::string state = dbos_drain::DescribeFailure(e).sqlstate;
    return state.empty() ? std::string("?") + e.what() : state;
  }
}

}  // namespace

TEST_CASE("least privilege: serve as the read-only role; writes with the same settings are refused",
          "[service][privilege]") {
  RoleGuard guard{"dd_ro_" + std::to_string(getpid())};
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
  db.InsertVersion("v2", AgoMs(std::chrono::hours(1)));
  const std::string row = db.InsertWorkflow(Workflow("PENDING").Version("v1").Queue("tasks"));
  // A table the version report never reads (the fixture has it since `patches`, which needs its own grant).
  db.Exec("INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, output) VALUES ('w', 0, 'secret output')");

  const std::string sql_file = SourceDir() + "/examples/sql/readonly-role.sql";
  const std::string password = "ro-pass-" + std::to_string(getpid());
  ProcessResult made = RunProcess({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "schema=dbos", "-v",
                                   "role=" + guard.role, "-v", "password=" + password, "-f", sql_file, "-d", db.url()});
  INFO(made.Describe());
  REQUIRE(made.exit_code == 0);

  const std::string url = db.UrlAs(guard.role, password);
  DrainService svc(Config(url));
  HttpReply v1 = svc.Get("/v1/versions/v1");
  INFO(v1.Describe());
  REQUIRE(v1.status == 200);
  CHECK(v1.Json().at("drained") == false);
  CHECK(v1.Json().at("queues").at("tasks").at("pending") == 1);
  CHECK(IsDrainedTrue(svc.Get("/v1/versions/v2")));
  HttpReply all = svc.Get("/v1/versions");
  REQUIRE(all.status == 200);
  CHECK(all.Json().at("schema").at("migration") == 123);  // dbos_migrations is readable too
  CHECK(all.Json().at("latest_version") == "v2");

  // The service's session is that role's.
  auto sessions = db.Query("SELECT usename FROM pg_stat_activity WHERE datname = current_database() "
                           "AND application_name = 'dbos-drain'");
  REQUIRE(sessions.size() >= 1);
  CHECK(sessions[0][0].as<std::string>() == guard.role);

  // Writes through the same connection settings. The role's sessions are read-only by default...
  CHECK(SqlStateOf(url, "UPDATE dbos.workflow_status SET status = 'SUCCESS'") == "25006");
  // ...and that is only a guard: switched off, the missing grants still refuse every write.
  const std::string rw = "SET default_transaction_read_only = off";
  CHECK(SqlStateOf(url, "UPDATE dbos.workflow_status SET status = 'SUCCESS'", rw) == "42501");
  CHECK(SqlStateOf(url, "DELETE FROM dbos.workflow_status", rw) == "42501");
  CHECK(SqlStateOf(url, "INSERT INTO dbos.workflow_status (workflow_uuid, status) VALUES ('x', 'SUCCESS')", rw) == "42501");
  CHECK(SqlStateOf(url, "TRUNCATE dbos.workflow_status", rw) == "42501");
  CHECK(SqlStateOf(url, "INSERT INTO dbos.application_versions (version_id, version_name, version_timestamp, created_at) "
                             "VALUES ('x', 'v9', 1, 1)", rw) == "42501");
  CHECK(SqlStateOf(url, "DELETE FROM dbos.queues", rw) == "42501");
  CHECK(SqlStateOf(url, "CREATE TABLE dbos.evil (i int)", rw) == "42501");
  CHECK(SqlStateOf(url, "CREATE TABLE public.evil (i int)", rw) == "42501");
  CHECK(SqlStateOf(url, "ALTER TABLE dbos.workflow_status ADD COLUMN evil int", rw) == "42501");
  // It reads exactly the tables dbos-drain reads, nothing else.
  CHECK(SqlStateOf(url, "SELECT count(*) FROM dbos.workflow_status") == "");
  CHECK(SqlStateOf(url, "SELECT * FROM dbos.operation_outputs") == "42501");

  // Nothing changed: the row is still PENDING and the verdict did not move.
  CHECK(db.Query("SELECT status FROM dbos.workflow_status WHERE workflow_uuid = " + TestDatabase::Literal(row))[0][0]
            .as<std::string>() == "PENDING");
  HttpReply again = svc.Get("/v1/versions/v1");
  CHECK(again.status == 200);
  CHECK(again.Json().at("drained") == false);
}
