// Big backlogs (issue 13): the report session is sized to the backlog (lib/db/report_session.h)
// and re-planned when the backlog crosses a size, against a real PostgreSQL. Every read must still
// count every in-flight row, whichever plan (BitmapOr of the partial indexes, serial or parallel
// hash aggregate over a sequential scan) the planner picks.
#include "db_helpers.h"

using namespace dbos_drain;
using namespace dbos_drain::dbtest;
using dbos_drain::testing::AgoMs;

namespace {

// n ENQUEUED rows of version `version` on queue tasks over 4 executors, with the columns the
// test database builder writes (test/support/test_database.cc), set-based.
void InsertEnqueued(const TestDatabase& db, int n, const std::string& version, const std::string& prefix) {
  db.Exec("INSERT INTO " + db.Table("workflow_status") +
          " (workflow_uuid, status, name, application_version, queue_name, executor_id, created_at, updated_at)"
          " SELECT " + TestDatabase::Literal(prefix) + " || g, 'ENQUEUED', 'testWorkflow', " +
          TestDatabase::Literal(version) + ", 'tasks', 'worker-' || (g % 4), " + std::to_string(AgoMs(std::chrono::minutes(5))) +
          " + g, " + std::to_string(AgoMs(std::chrono::minutes(5))) + " FROM generate_series(1, " + std::to_string(n) + ") AS g");
  db.Exec("ANALYZE " + db.Table("workflow_status"));
}

int64_t Calls(const TestDatabase& db, const std::string& role, const std::string& like) {
  auto r = db.Query("SELECT COALESCE(sum(s.calls), 0)::bigint FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid"
                    " JOIN pg_database d ON d.oid = s.dbid WHERE r.rolname = " + TestDatabase::Literal(role) +
                    " AND d.datname = current_database() AND s.query LIKE " + TestDatabase::Literal(like));
  return r[0][0].as<int64_t>();
}

}  // namespace

TEST_CASE("a backlog that grows past a size is re-planned and still counted exactly", "[db][backlog]") {
  TestDatabase db;
  db.Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  const std::string role = db.CreateRole("dd_backlog", "secret-backlog", true);
  ConnectionSettings s = SettingsFor(db);
  s.url = db.UrlAs(role, "secret-backlog");
  s.query_timeout = std::chrono::seconds(30);  // a loaded CI machine; the point is the plan, not the time
  SystemDatabase reader(s);

  auto in_flight = [&] { return EntryOf(BuildReport(reader.Read(), {}), "v1").in_flight; };
  // Each report transaction sets its own (SET LOCAL, issue 20), sized by the previous read.
  CHECK(in_flight().total() == 1);
  // Small: PostgreSQL's default work_mem, no parallel workers.
  CHECK(Calls(db, role, "SET LOCAL work_mem = '4096kB'") == 1);
  CHECK(Calls(db, role, "SET LOCAL max_parallel_workers_per_gather = '0'") == 1);

  InsertEnqueued(db, 120000, "v1", "big-");
  // Planned for one row, counted right; this read sizes the next one.
  CHECK(in_flight().enqueued == 120000);
  CHECK(Calls(db, role, "SET LOCAL work_mem = '4096kB'") == 2);
  CHECK(Calls(db, role, "SET LOCAL work_mem = '8192kB'") == 0);
  // Re-planned (parallel hash aggregate allowed): the same counts, twice.
  CHECK(in_flight() == StatusCounts{1, 120000, 0});
  CHECK(in_flight() == StatusCounts{1, 120000, 0});
  CHECK(Calls(db, role, "SET LOCAL work_mem = '8192kB'") == 2);
  CHECK(Calls(db, role, "SET LOCAL max_parallel_workers_per_gather = '2'") == 2);

  // Back to small: sized down again after one read.
  db.Exec("DELETE FROM " + db.Table("workflow_status") + " WHERE workflow_uuid LIKE 'big-%'");
  CHECK(in_flight().total() == 1);
  CHECK(in_flight().total() == 1);
  CHECK(Calls(db, role, "SET LOCAL work_mem = '8192kB'") == 3);
  CHECK(Calls(db, role, "SET LOCAL work_mem = '4096kB'") == 3);
  CHECK(Calls(db, role, "SET LOCAL max_parallel_workers_per_gather = '0'") == 3);
  CHECK(Calls(db, role, "SET LOCAL work_mem = %") == 6);
  CHECK(Calls(db, role, "SET work_mem%") == 0);  // never for the session
}

TEST_CASE("a new connection sizes its first read from the planner's estimate", "[db][backlog]") {
  TestDatabase db;
  db.Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
  InsertEnqueued(db, 120000, "v1", "est-");
  const std::string role = db.CreateRole("dd_estimate", "secret-estimate", true);
  ConnectionSettings s = SettingsFor(db);
  s.url = db.UrlAs(role, "secret-estimate");
  s.query_timeout = std::chrono::seconds(30);
  SystemDatabase reader(s);
  CHECK(EntryOf(BuildReport(reader.Read(), {}), "v1").in_flight.enqueued == 120000);
  // Sized before the first read (no report counted yet).
  CHECK(Calls(db, role, "SET LOCAL work_mem = '8192kB'") == 1);
  CHECK(Calls(db, role, "SET LOCAL work_mem = %") == 1);
  CHECK(Calls(db, role, "SET LOCAL jit = 'off'") >= 1);  // in every transaction
  CHECK(Calls(db, role, "SET jit%") == 0);
}

TEST_CASE("NULL and '' executors and queues are grouped apart and add up the same", "[db][backlog]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
  db.InsertWorkflow(Workflow("PENDING").Version("v1").Executor(std::nullopt));
  db.InsertWorkflow(Workflow("PENDING").Version("v1").Executor(std::string("")));
  db.InsertWorkflow(Workflow("PENDING").Version("v1").Queue(std::string("")));
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  db.InsertWorkflow(Workflow("ENQUEUED").Version("v1").Queue(std::string("tasks")));
  const Report report = ReadReport(db);  // EntryOf returns a reference into it
  const auto& v1 = EntryOf(report, "v1");
  CHECK(v1.in_flight == StatusCounts{4, 1, 0});
  CHECK(v1.not_queued == StatusCounts{4, 0, 0});
  REQUIRE(v1.queues.size() == 1);
  CHECK(v1.queues.at("tasks") == StatusCounts{0, 1, 0});
  REQUIRE(v1.executors.count(""));
  CHECK(v1.executors.at("") == StatusCounts{2, 0, 0});
  CHECK(v1.executors.at("worker-1") == StatusCounts{2, 1, 0});
}
