// How SystemDatabase fails, and that it recovers: every failure is a DrainError with a stable
// code and a message that names what went wrong and never holds the password; after a failure
// the next Read() reconnects. Also: reads are read-only.
#include "db_helpers.h"

#include <thread>

#include "process.h"
#include "table_lock.h"

using namespace dbos_drain;
using namespace dbos_drain::dbtest;
using testing::AgoMs;
using testing::FreeLoopbackPort;
using testing::TableLock;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const char* kSecret = "Sup3r-Secret-PW";

}  // namespace

TEST_CASE("a schema without workflow_status is schema_not_found, naming database and schema", "[db][errors]") {
  SECTION("wrong --schema") {
    TestDatabase db;
    ConnectionSettings s = SettingsFor(db);
    s.schema = "not_dbos";
    SystemDatabase reader(s);
    DrainError e = ExpectDrainError([&] { reader.Read(); });
    CHECK(e.code() == ErrorCode::kSchemaNotFound);
    CHECK_THAT(e.what(), Catch::Contains("no DBOS system database found"));
    CHECK_THAT(e.what(), Catch::Contains("database \"" + db.name() + "\""));
    CHECK_THAT(e.what(), Catch::Contains("schema \"not_dbos\""));
  }
  SECTION("an empty database") {
    TestDatabase db("");
    DrainError e = ExpectDrainError([&] { ReadReport(db); });
    CHECK(e.code() == ErrorCode::kSchemaNotFound);
    CHECK_THAT(e.what(), Catch::Contains(db.name()));
    CHECK_THAT(e.what(), Catch::Contains("schema \"dbos\""));
  }
  SECTION("a schema that only has other tables") {
    TestDatabase db("");
    db.Exec("CREATE SCHEMA dbos; CREATE TABLE dbos.operation_outputs (workflow_uuid text)");
    CHECK(ExpectDrainError([&] { ReadReport(db); }).code() == ErrorCode::kSchemaNotFound);
  }
}

TEST_CASE("a workflow_status without the needed columns is schema_unrecognized", "[db][errors]") {
  TestDatabase db("");
  db.Exec("CREATE SCHEMA dbos; CREATE TABLE dbos.workflow_status (workflow_uuid text, status text)");
  DrainError e = ExpectDrainError([&] { ReadReport(db); });
  CHECK(e.code() == ErrorCode::kSchemaUnrecognized);
  CHECK_THAT(e.what(), Catch::Contains("has no column application_version"));
  CHECK_THAT(e.what(), Catch::Contains(db.name()));
}

TEST_CASE("an unreachable database is database_unavailable, without the password", "[db][errors]") {
  const int port = FreeLoopbackPort();
  const std::string where = "127.0.0.1:" + std::to_string(port) + "/sysdb";
  for (const std::string& url : {"postgresql://alice:" + std::string(kSecret) + "@" + where,
                                 "host=127.0.0.1 port=" + std::to_string(port) + " dbname=sysdb user=alice password=" + kSecret}) {
    INFO(url);
    ConnectionSettings s;
    s.url = url;
    s.connect_timeout = seconds(2);
    SystemDatabase reader(s);
    CHECK_THAT(reader.description(), !Catch::Contains(kSecret));
    const auto start = std::chrono::steady_clock::now();
    DrainError e = ExpectDrainError([&] { reader.Read(); });
    CHECK(Since(start) < seconds(3));
    CHECK(e.code() == ErrorCode::kDatabaseUnavailable);
    CHECK_THAT(e.what(), Catch::Contains(where));
    CHECK_THAT(e.what(), Catch::Contains("as alice"));
    CHECK_THAT(e.what(), !Catch::Contains(kSecret));
  }
}

TEST_CASE("a database or role that does not exist is database_unavailable, without the password", "[db][errors]") {
  TestDatabase db;
  SECTION("no such database") {
    ConnectionSettings s = SettingsFor(db);
    s.url = "postgresql://postgres:" + std::string(kSecret) + "@" + db.host() + ":" + db.port() + "/no_such_db_here";
    DrainError e = ExpectDrainError([&] { SystemDatabase(s).Read(); });
    CHECK(e.code() == ErrorCode::kDatabaseUnavailable);
    CHECK_THAT(e.what(), Catch::Contains("no_such_db_here"));
    CHECK_THAT(e.what(), !Catch::Contains(kSecret));
  }
  SECTION("no such role") {
    ConnectionSettings s = SettingsFor(db);
    s.url = db.UrlAs("no_such_role", kSecret);
    DrainError e = ExpectDrainError([&] { SystemDatabase(s).Read(); });
    CHECK(e.code() == ErrorCode::kDatabaseUnavailable);
    CHECK_THAT(e.what(), Catch::Contains("no_such_role"));
    CHECK_THAT(e.what(), !Catch::Contains(kSecret));
  }
}

TEST_CASE("a role without SELECT is permission_denied, not an empty report", "[db][errors]") {
  TestDatabase db;
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  SECTION("no SELECT on the tables") {
    const std::string role = db.CreateRole("dd_noselect", kSecret, false);
    ConnectionSettings s = SettingsFor(db);
    s.url = db.UrlAs(role, kSecret);
    DrainError e = ExpectDrainError([&] { SystemDatabase(s).Read(); });
    CHECK(e.code() == ErrorCode::kPermissionDenied);
    CHECK_THAT(e.what(), Catch::Contains("permission denied for table"));
    CHECK_THAT(e.what(), Catch::Contains(role));
    CHECK_THAT(e.what(), !Catch::Contains(kSecret));
  }
  SECTION("no USAGE on the schema: still permission_denied, never schema_not_found") {
    const std::string role = db.CreateRole("dd_nousage", kSecret, true);
    db.Exec("REVOKE USAGE ON SCHEMA dbos FROM " + TestDatabase::Ident(role));
    ConnectionSettings s = SettingsFor(db);
    s.url = db.UrlAs(role, kSecret);
    DrainError e = ExpectDrainError([&] { SystemDatabase(s).Read(); });
    CHECK(e.code() == ErrorCode::kPermissionDenied);
  }
  SECTION("SELECT on workflow_status but not on application_versions") {
    const std::string role = db.CreateRole("dd_partial", kSecret, true);
    db.Exec("REVOKE SELECT ON dbos.application_versions FROM " + TestDatabase::Ident(role));
    ConnectionSettings s = SettingsFor(db);
    s.url = db.UrlAs(role, kSecret);
    DrainError e = ExpectDrainError([&] { SystemDatabase(s).Read(); });
    CHECK(e.code() == ErrorCode::kPermissionDenied);
    CHECK_THAT(e.what(), Catch::Contains("application_versions"));
  }
  SECTION("without SELECT on dbos_migrations the report is read, without the migration level") {
    const std::string role = db.CreateRole("dd_nomig", kSecret, true);
    db.Exec("REVOKE SELECT ON dbos.dbos_migrations FROM " + TestDatabase::Ident(role));
    ConnectionSettings s = SettingsFor(db);
    s.url = db.UrlAs(role, kSecret);
    Report r = BuildReport(SystemDatabase(s).Read(), {});
    CHECK_FALSE(r.shape.migration);
    CHECK(r.versions.at(0).in_flight.pending == 1);
  }
  SECTION("with SELECT the same role reads the report") {
    const std::string role = db.CreateRole("dd_reader", kSecret, true);
    ConnectionSettings s = SettingsFor(db);
    s.url = db.UrlAs(role, kSecret);
    SystemDatabase reader(s);
    CHECK(BuildReport(reader.Read(), {}).versions.at(0).in_flight.pending == 1);
  }
}

TEST_CASE("a read blocked by a lock is query_timeout within the query timeout plus 1 s", "[db][errors][timeout]") {
  TestDatabase db;
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  ConnectionSettings s = SettingsFor(db);
  s.query_timeout = seconds(1);

  SECTION("on an open connection") {
    SystemDatabase reader(s);
    REQUIRE(reader.Read().groups.size() == 1);
    {
      TableLock lock(db, "workflow_status");
      const auto start = std::chrono::steady_clock::now();
      DrainError e = ExpectDrainError([&] { reader.Read(); });
      const auto took = Since(start);
      CHECK(e.code() == ErrorCode::kQueryTimeout);
      CHECK_THAT(e.what(), Catch::Contains("timed out after 1000 ms"));
      CHECK(took >= milliseconds(900));
      CHECK(took < milliseconds(2000));
    }
    // The lock is gone: the same reader answers again.
    CHECK(reader.Read().groups.size() == 1);
  }
  SECTION("while connecting") {
    TableLock lock(db, "workflow_status");
    SystemDatabase reader(s);
    const auto start = std::chrono::steady_clock::now();
    DrainError e = ExpectDrainError([&] { reader.Read(); });
    CHECK(e.code() == ErrorCode::kQueryTimeout);
    CHECK(Since(start) < milliseconds(2000));
  }
  SECTION("a lock on application_versions") {
    SystemDatabase reader(s);
    reader.Read();
    TableLock lock(db, "application_versions");
    const auto start = std::chrono::steady_clock::now();
    CHECK(ExpectDrainError([&] { reader.Read(); }).code() == ErrorCode::kQueryTimeout);
    CHECK(Since(start) < milliseconds(2000));
  }
}

TEST_CASE("Cancel() from another thread ends a blocked read", "[db][errors][timeout]") {
  TestDatabase db;
  ConnectionSettings s = SettingsFor(db);
  s.query_timeout = seconds(30);
  SystemDatabase reader(s);
  reader.Read();
  TableLock lock(db, "workflow_status");
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(300));
    reader.Cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  DrainError e = ExpectDrainError([&] { reader.Read(); });
  canceller.join();
  CHECK(e.code() == ErrorCode::kQueryTimeout);
  CHECK(Since(start) < seconds(3));
}

TEST_CASE("every read runs in a read-only repeatable-read transaction", "[db][readonly]") {
  TestDatabase db;
  db.EnableStatementStatistics();
  db.InsertVersion("v1", AgoMs(std::chrono::hours(1)));
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  // A role that could write, so nothing but dbos-drain's own statements keeps it read-only.
  const std::string role = db.CreateRole("dd_writer", kSecret, true);
  db.Exec("GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA dbos TO " + TestDatabase::Ident(role));
  ConnectionSettings s = SettingsFor(db);
  s.url = db.UrlAs(role, kSecret);
  {
    SystemDatabase reader(s);
    reader.Read({"v-probe"});
    reader.Read({"v1"});
  }
  // pg_stat_statements: every statement this role ran in this database, with its call count.
  // libpqxx opens a transaction as "BEGIN" followed by "SET TRANSACTION ...".
  std::vector<std::pair<std::string, int64_t>> statements;
  for (const auto& row : db.Query(
           "SELECT s.query, s.calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
           "JOIN pg_database d ON d.oid = s.dbid WHERE r.rolname = " + TestDatabase::Literal(role) +
           " AND d.datname = current_database()")) {
    statements.emplace_back(row[0].as<std::string>(), row[1].as<int64_t>());
  }
  REQUIRE_FALSE(statements.empty());
  int64_t begins = 0, read_only_transactions = 0, repeatable_read_only = 0;
  bool session_set = false, report_query = false, probe_query = false;
  for (const auto& [q, calls] : statements) {
    INFO(q);
    std::string upper;
    for (char c : q) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper == "BEGIN") begins += calls;
    if (upper.rfind("SET TRANSACTION", 0) == 0 && upper.find("READ ONLY") != std::string::npos) {
      read_only_transactions += calls;
      if (upper.find("REPEATABLE READ") != std::string::npos) repeatable_read_only += calls;
    }
    // Nothing set for the session (issue 20: a pooler hands the server connection on).
    if (upper.rfind("SET ", 0) == 0 && upper.rfind("SET LOCAL ", 0) != 0 && upper.rfind("SET TRANSACTION", 0) != 0) {
      session_set = true;
    }
    if (upper.find("WORKFLOW_STATUS") != std::string::npos && upper.find("UNION ALL") != std::string::npos) report_query = true;
    if (upper.find("UNNEST(") != std::string::npos) probe_query = true;
    // Only reads, transaction settings and control, savepoints; no locking reads. EXPLAIN without
    // ANALYZE (the planner's estimate of the backlog, report_session.h) plans and runs nothing.
    const bool allowed = upper.rfind("SELECT ", 0) == 0 || upper.rfind("SET ", 0) == 0 || upper == "BEGIN" ||
                         upper == "COMMIT" || upper == "ROLLBACK" || upper.rfind("SAVEPOINT ", 0) == 0 ||
                         upper.rfind("RELEASE SAVEPOINT ", 0) == 0 || upper.rfind("ROLLBACK TO SAVEPOINT ", 0) == 0 ||
                         upper.rfind("EXPLAIN (FORMAT JSON) SELECT ", 0) == 0;
    CHECK(allowed);
    for (const char* locking : {"FOR UPDATE", "FOR SHARE", "FOR NO KEY UPDATE", "FOR KEY SHARE"}) {
      CHECK_THAT(upper, !Catch::Contains(locking));
    }
  }
  CHECK(begins > 0);
  CHECK(read_only_transactions == begins);  // every transaction was made READ ONLY
  CHECK(repeatable_read_only == 2);         // the two reports, each one snapshot
  CHECK_FALSE(session_set);
  CHECK(report_query);
  CHECK(probe_query);
  // And the rows are as they were.
  CHECK(db.Query("SELECT count(*) FROM dbos.workflow_status")[0][0].as<int>() == 1);
}

TEST_CASE("after its connection is killed the reader reconnects with its settings", "[db][reconnect]") {
  TestDatabase db;
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  ConnectionSettings s = SettingsFor(db);
  s.query_timeout = seconds(1);
  SystemDatabase reader(s);
  REQUIRE(reader.Read().groups.size() == 1);

  auto reader_pids = [&] {
    return db.Query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'dbos-drain'");
  };
  auto before = reader_pids();
  REQUIRE(before.size() == 1);
  const int old_pid = before[0][0].as<int>();
  REQUIRE(db.Query("SELECT pg_terminate_backend(" + std::to_string(old_pid) + ")")[0][0].as<bool>());
  REQUIRE(testing::WaitUntil([&] { return reader_pids().empty(); }, seconds(5)));

  // The first read after the kill may notice the dead connection (never a stale answer); the
  // next one is on a new connection.
  try {
    reader.Read();
  } catch (const DrainError& e) {
    CHECK(e.code() == ErrorCode::kDatabaseUnavailable);
  }
  db.InsertWorkflow(Workflow("ENQUEUED").Version("v1").Queue("q"));
  Snapshot snap = reader.Read();
  CHECK(BuildReport(snap, {}).versions.at(0).in_flight == StatusCounts{1, 1, 0});
  auto after = reader_pids();
  REQUIRE(after.size() == 1);
  CHECK(after[0][0].as<int>() != old_pid);

  // The new session has the statement timeout again: a lock still cannot hang it.
  TableLock lock(db, "workflow_status");
  const auto start = std::chrono::steady_clock::now();
  CHECK(ExpectDrainError([&] { reader.Read(); }).code() == ErrorCode::kQueryTimeout);
  CHECK(Since(start) < milliseconds(2000));
}

TEST_CASE("a table dropped while running is an error, then the reader adapts to the new shape", "[db][reconnect]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(std::chrono::hours(1)));
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  SystemDatabase reader(SettingsFor(db));
  REQUIRE(BuildReport(reader.Read(), {}).latest_version);
  db.Exec("DROP TABLE dbos.application_versions");
  DrainError e = ExpectDrainError([&] { reader.Read(); });
  CHECK(e.code() == ErrorCode::kSchemaUnrecognized);
  Report r = BuildReport(reader.Read(), {});
  CHECK_FALSE(r.shape.has_application_versions);
  CHECK_FALSE(r.latest_version);
  CHECK(r.versions.at(0).in_flight.pending == 1);
}
