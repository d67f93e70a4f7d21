// SystemDatabase + BuildReport against a real PostgreSQL, for each schema shape the project
// carries a fixture of: newest (TS 5.x / Python 100+), ts-3x (no application_versions, queues,
// application_name or DELAYED), go-0x (DELAYED, '' for non-queued, no versions/queues tables).
#include "db_helpers.h"

#include "report_query.h"
#include "retire_query.h"

using namespace dbos_drain;
using namespace dbos_drain::dbtest;
using testing::AgoMs;
using testing::NowMs;
using std::chrono::hours;
using std::chrono::minutes;

namespace {

struct ShapeCase {
  const char* fixture;
  bool versions, queues, application_name, delay_until;
  int64_t migration;
};

const ShapeCase kShapes[] = {
    {"schema-newest.sql", true, true, true, true, 123},
    {"schema-ts-3x.sql", false, false, false, false, 12},
    {"schema-go-0x.sql", false, false, false, true, 16},
};

// A small backlog beside enough finished rows that reading them all would be the wrong plan.
void LoadSmallBacklog(const TestDatabase& db) {
  db.Exec("INSERT INTO dbos.workflow_status (workflow_uuid, status, application_version, executor_id, created_at, completed_at) "
          "SELECT 'done-' || i, 'SUCCESS', 'v' || (i % 5), 'w', i, i + 1 FROM generate_series(1, 20000) AS i");
  db.InsertWorkflows(3, Workflow("PENDING").Version("v1"));
  db.InsertWorkflow(Workflow("DELAYED").Version("v1").Queue("q").DelayUntil(NowMs() + 1000));
  db.InsertWorkflow(Workflow("SUCCESS").Version("v1").CompletedAt(NowMs()));
  db.Exec("ANALYZE dbos.workflow_status");
}

// `sql` with $1, $2, ... replaced by `values`, in order (no statement here has ten parameters).
std::string Bind(std::string sql, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string param = "$" + std::to_string(i + 1);
    for (std::string::size_type pos; (pos = sql.find(param)) != std::string::npos;) sql.replace(pos, param.size(), values[i]);
  }
  return sql;
}

// The plan PostgreSQL chooses for `sql`, after `settings` (SET statements) in the same session.
std::string PlanOf(const TestDatabase& db, const std::string& sql, const std::string& settings = "") {
  std::string plan;
  for (const auto& row : db.Query(settings + "EXPLAIN " + sql)) plan += row[0].as<std::string>() + "\n";
  return plan;
}

}  // namespace

TEST_CASE("the schema shape is detected for every fixture", "[db][shape]") {
  for (const auto& c : kShapes) {
    DYNAMIC_SECTION(c.fixture) {
      TestDatabase db(c.fixture);
      Report r = ReadReport(db);
      CHECK(r.shape.schema == "dbos");
      CHECK(r.shape.database == db.name());
      CHECK(r.shape.has_application_versions == c.versions);
      CHECK(r.shape.has_queues == c.queues);
      CHECK(r.shape.has_application_name == c.application_name);
      CHECK(r.shape.has_delay_until == c.delay_until);
      REQUIRE(r.shape.migration);
      CHECK(*r.shape.migration == c.migration);
      CHECK(r.versions.empty());
      CHECK(r.unassigned.total() == 0);
      // as_of is the database clock, which runs on this machine.
      CHECK(std::llabs(r.as_of_ms - NowMs()) < 5000);
    }
  }
}

TEST_CASE("in-flight rows are counted by status, queue and executor in every shape", "[db][shape]") {
  for (const auto& c : kShapes) {
    DYNAMIC_SECTION(c.fixture) {
      TestDatabase db(c.fixture);
      const int64_t oldest = AgoMs(hours(2) + minutes(5));
      db.InsertWorkflows(2, Workflow("PENDING").Version("v1").Executor("pod-a").CreatedAt(oldest + 1000));
      db.InsertWorkflow(Workflow("PENDING").Version("v1").Executor("pod-a").CreatedAt(oldest));
      db.InsertWorkflows(3, Workflow("ENQUEUED").Version("v1").Queue("tasks").Executor("pod-a"));
      db.InsertWorkflow(Workflow("PENDING").Version("v1").Queue("tasks").Executor("pod-b"));
      db.InsertWorkflow(Workflow("ENQUEUED").Version("v1").Queue("mail").Executor(std::nullopt));
      db.InsertWorkflow(Workflow("ENQUEUED").Version("v2").Queue("tasks").Executor("pod-c"));
      // Finished rows never count, whatever the SDK generation called them.
      for (const char* done : {"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED", "RETRIES_EXCEEDED"}) {
        db.InsertWorkflow(Workflow(done).Version("v1").Queue("tasks").Executor("pod-a"));
        db.InsertWorkflow(Workflow(done).Version("v3").Executor("pod-z").CreatedAgo(std::chrono::hours(1)));
      }

      Report r = ReadReport(db);
      const auto& v1 = EntryOf(r, "v1");
      CHECK(v1.known);
      CHECK_FALSE(v1.drained);
      CHECK(v1.in_flight == StatusCounts{4, 4, 0});
      CHECK(v1.not_queued == StatusCounts{3, 0, 0});
      REQUIRE(v1.queues.size() == 2);
      CHECK(v1.queues.at("tasks") == StatusCounts{1, 3, 0});
      CHECK(v1.queues.at("mail") == StatusCounts{0, 1, 0});
      REQUIRE(v1.executors.size() == 3);
      CHECK(v1.executors.at("pod-a") == StatusCounts{3, 3, 0});
      CHECK(v1.executors.at("pod-b") == StatusCounts{1, 0, 0});
      CHECK(v1.executors.at("") == StatusCounts{0, 1, 0});  // NULL executor_id
      REQUIRE(v1.oldest_in_flight_ms);
      CHECK(*v1.oldest_in_flight_ms == oldest);

      const auto& v2 = EntryOf(r, "v2");
      CHECK(v2.in_flight == StatusCounts{0, 1, 0});
      CHECK(r.queues.at("tasks").in_flight == StatusCounts{1, 4, 0});
      // v3 has only finished rows: not in a report that did not ask about it.
      CHECK_FALSE(HasEntry(r, "v3"));
    }
  }
}

TEST_CASE("DELAYED rows are in flight", "[db][shape]") {
  for (const char* fixture : {"schema-newest.sql", "schema-go-0x.sql"}) {
    DYNAMIC_SECTION(fixture) {
      TestDatabase db(fixture);
      db.InsertWorkflow(Workflow("DELAYED").Version("v1").Queue("later").DelayUntil(NowMs() + 3'600'000));
      db.InsertWorkflow(Workflow("DELAYED").Version("v1").Queue("later").DelayUntil(NowMs() + 60'000));
      Report r = ReadReport(db);
      const auto& v1 = EntryOf(r, "v1");
      CHECK(v1.in_flight == StatusCounts{0, 0, 2});
      CHECK(v1.queues.at("later").delayed == 2);
      CHECK_FALSE(v1.drained);
      CHECK_THAT(SummaryLine(v1, r.as_of_ms), Catch::Contains("2 delayed (later)"));
    }
  }
}

TEST_CASE("an empty queue_name is not a queue", "[db][shape]") {
  SECTION("the old Go SDK's default ''") {
    TestDatabase db("schema-go-0x.sql");
    db.InsertWorkflows(2, Workflow("PENDING").Version("v1"));  // queue_name takes its default ''
    REQUIRE(db.Query("SELECT count(*) FROM dbos.workflow_status WHERE queue_name = ''")[0][0].as<int>() == 2);
    db.InsertWorkflow(Workflow("ENQUEUED").Version("v1").Queue("tasks"));
    Report r = ReadReport(db);
    const auto& v1 = EntryOf(r, "v1");
    CHECK(v1.not_queued == StatusCounts{2, 0, 0});
    CHECK(v1.queues.size() == 1);
    CHECK(v1.queues.count("") == 0);
    CHECK(r.queues.count("") == 0);
    CHECK_THAT(SummaryLine(v1, r.as_of_ms), Catch::Contains("1 enqueued (tasks)"));
  }
  SECTION("'' written explicitly in the newest shape") {
    TestDatabase db;
    db.InsertWorkflow(Workflow("PENDING").Version("v1").Queue(std::string("")));
    Report r = ReadReport(db);
    CHECK(EntryOf(r, "v1").not_queued.pending == 1);
    CHECK(EntryOf(r, "v1").queues.empty());
  }
}

TEST_CASE("registered versions, latest, and queue settings come from their tables", "[db][shape]") {
  TestDatabase db;
  const int64_t t1 = AgoMs(hours(48)), t2 = AgoMs(hours(24)), t3 = AgoMs(hours(1));
  db.InsertVersion("v-old", t1);
  db.InsertVersion("v-newest", t3);
  db.InsertVersion("v-middle", t2);
  db.InsertQueue("tasks", std::nullopt, 2);
  db.InsertQueue("mail", 10, std::nullopt);
  db.InsertWorkflow(Workflow("ENQUEUED").Version(std::nullopt).Queue("tasks").Executor(std::string("")));
  Report r = ReadReport(db);
  REQUIRE(r.latest_version);
  CHECK(*r.latest_version == "v-newest");
  REQUIRE(r.versions.size() == 3);
  CHECK(r.versions[0].version == "v-old");
  CHECK(r.versions[1].version == "v-middle");
  CHECK(r.versions[2].version == "v-newest");
  CHECK(r.versions[0].registered_at_ms == t1);
  CHECK(r.versions[0].drained);
  CHECK(r.versions[1].drained);
  // The client-enqueued row (NULL version) belongs to the latest version only.
  CHECK_FALSE(r.versions[2].drained);
  CHECK(r.versions[2].unassigned_in_flight == 1);
  CHECK(r.unassigned.enqueued == 1);
  CHECK(r.queues.at("tasks").registered);
  CHECK(r.queues.at("tasks").worker_concurrency == 2);
  CHECK_FALSE(r.queues.at("tasks").concurrency);
  CHECK(r.queues.at("tasks").in_flight.enqueued == 1);
  CHECK(r.queues.at("mail").concurrency == 10);
}

TEST_CASE("the history probe makes a version with only finished rows known", "[db][probe]") {
  for (const char* fixture : {"schema-ts-3x.sql", "schema-newest.sql"}) {
    DYNAMIC_SECTION(fixture) {
      TestDatabase db(fixture);
      db.InsertWorkflows(3, Workflow("SUCCESS").Version("v0").CreatedAgo(std::chrono::hours(1)));
      db.InsertWorkflow(Workflow("ERROR").Version("v0").CreatedAgo(std::chrono::hours(1)));
      db.InsertWorkflow(Workflow("PENDING").Version("v1"));

      SystemDatabase reader(SettingsFor(db));
      Snapshot s = reader.Read({"v0", "v1", "never-ran"});
      CHECK(s.versions_with_history == std::set<std::string>{"v0"});
      // v1 was already proven by its in-flight row: not probed again.
      CHECK(s.versions_probed == std::set<std::string>{"v0", "never-ran"});

      Report r = BuildReport(s, {});
      CHECK(FindVersion(r, "v0", {}).known);
      CHECK(FindVersion(r, "v0", {}).drained);
      CHECK_FALSE(FindVersion(r, "never-ran", {}).known);
      CHECK_FALSE(FindVersion(r, "never-ran", {}).drained);

      // Not asked: not probed, not in the report.
      Snapshot plain = reader.Read();
      CHECK(plain.versions_probed.empty());
      CHECK_FALSE(HasEntry(BuildReport(plain, {}), "v0"));
    }
  }
}

TEST_CASE("the history probe handles names that need escaping in a text[] literal", "[db][probe]") {
  TestDatabase db("schema-ts-3x.sql");
  const std::vector<std::string> odd = {"we\"ird", "back\\slash", "com,ma", "{braces}", "sp ace", "NULL",
                                        "caf\xc3\xa9", "it's", "new\nline"};
  for (const auto& v : odd) db.InsertWorkflow(Workflow("SUCCESS").Version(v));
  SystemDatabase reader(SettingsFor(db));
  std::vector<std::string> ask = odd;
  ask.push_back("absent");
  Snapshot s = reader.Read(ask);
  CHECK(s.versions_with_history == std::set<std::string>(odd.begin(), odd.end()));
  CHECK(s.versions_probed.size() == ask.size());
}

TEST_CASE("--application counts that application's rows and rows owned by none", "[db][application]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(hours(3)), std::string("shop"));
  db.InsertVersion("v-other", AgoMs(hours(1)), std::string("other"));
  db.InsertQueue("tasks", std::nullopt, 2, std::string("shop"));
  db.InsertQueue("other-q", 5, std::nullopt, std::string("other"));
  db.InsertWorkflows(2, Workflow("PENDING").Version("v1").Application(std::string("shop")));
  db.InsertWorkflows(5, Workflow("PENDING").Version("v1").Application(std::string("other")));
  db.InsertWorkflow(Workflow("ENQUEUED").Version("v1").Queue("tasks"));  // application_name NULL
  db.InsertWorkflow(Workflow("SUCCESS").Version("v-hist").Application(std::string("other")));

  SECTION("scoped") {
    SystemDatabase reader(SettingsFor(db, std::string("shop")));
    Snapshot s = reader.Read({"v-hist"});
    CHECK(s.application == std::optional<std::string>("shop"));
    CHECK_FALSE(s.application_filter_ignored);
    CHECK(s.versions_with_history.empty());  // v-hist is another application's
    Report r = BuildReport(s, {});
    CHECK(EntryOf(r, "v1").in_flight == StatusCounts{2, 1, 0});
    // application_versions and queues are scoped too: the other application's newer version is
    // not this application's latest.
    REQUIRE(r.latest_version);
    CHECK(*r.latest_version == "v1");
    CHECK_FALSE(HasEntry(r, "v-other"));
    CHECK(r.queues.count("tasks") == 1);
    CHECK(r.queues.count("other-q") == 0);
  }
  SECTION("unscoped") {
    SystemDatabase reader(SettingsFor(db));
    Snapshot s = reader.Read({"v-hist"});
    CHECK_FALSE(s.application);
    CHECK(s.versions_with_history == std::set<std::string>{"v-hist"});
    Report r = BuildReport(s, {});
    CHECK(EntryOf(r, "v1").in_flight == StatusCounts{7, 1, 0});
    // Two applications, each with its own latest (issue 22): no single latest version.
    CHECK_FALSE(r.latest_version);
    CHECK(r.latest_by_application == std::map<std::string, std::string>{{"other", "v-other"}, {"shop", "v1"}});
    CHECK(EntryOf(r, "v1").latest);
    CHECK(EntryOf(r, "v-other").latest);
    CHECK(r.queues.count("other-q") == 1);
  }
}

TEST_CASE("--application on a schema without application_name is ignored and flagged", "[db][application]") {
  for (const char* fixture : {"schema-ts-3x.sql", "schema-go-0x.sql"}) {
    DYNAMIC_SECTION(fixture) {
      TestDatabase db(fixture);
      db.InsertWorkflows(3, Workflow("PENDING").Version("v1"));
      Report r = ReadReport(db, {}, std::string("shop"));
      CHECK(r.application_filter_ignored);
      CHECK_FALSE(r.application);
      CHECK(EntryOf(r, "v1").in_flight.pending == 3);
    }
  }
}

TEST_CASE("a custom schema name is read, quoted", "[db][schema]") {
  for (const char* schema : {"my_dbos", "Sys \"Quoted\" Schema"}) {
    DYNAMIC_SECTION(schema) {
      TestDatabase db("schema-newest.sql", schema);
      db.InsertVersion("v1", AgoMs(hours(1)));
      db.InsertWorkflow(Workflow("ENQUEUED").Version("v1").Queue("tasks"));
      Report r = ReadReport(db, {"v1"});
      CHECK(r.shape.schema == schema);
      CHECK(r.shape.has_application_versions);
      CHECK(EntryOf(r, "v1").in_flight.enqueued == 1);
      CHECK(*r.latest_version == "v1");
    }
  }
}

TEST_CASE("PostgreSQL reads in-flight rows through the partial indexes", "[db][query]") {
  TestDatabase db;
  LoadSmallBacklog(db);
  SystemDatabase reader(SettingsFor(db));
  SchemaShape shape = reader.Read().shape;
  for (bool scoped : {false, true}) {
    std::string sql = BuildReportQuery(shape, scoped);
    if (scoped) sql = Bind(sql, {"'shop'"});
    std::string plan = PlanOf(db, sql);
    INFO(plan);
    CHECK_THAT(plan, Catch::Contains("idx_workflow_status_in_flight_v2"));
    CHECK_THAT(plan, Catch::Contains("idx_workflow_status_delayed"));
    CHECK_THAT(plan, !Catch::Contains("Seq Scan on workflow_status"));
  }
}

TEST_CASE("PostgreSQL reads a small backlog and the quiet period's ranges with plain index scans", "[db][query]") {
  TestDatabase db;
  LoadSmallBacklog(db);
  SystemDatabase reader(SettingsFor(db));
  SchemaShape shape = reader.Read().shape;
  const std::string no_bitmaps = "SET enable_bitmapscan = off; ";
  // The report's session for a small backlog (report_session.h): one plain index scan per partial index.
  std::string report = PlanOf(db, BuildReportQuery(shape, false, InFlightScan::kIndexScans), no_bitmaps);
  INFO(report);
  CHECK_THAT(report, Catch::Contains("Index Scan using idx_workflow_status_in_flight_v2"));
  CHECK_THAT(report, Catch::Contains("Index Scan using idx_workflow_status_delayed"));
  CHECK_THAT(report, !Catch::Contains("Seq Scan on workflow_status"));
  // The retire statement with an incremental read's bounds (window_ledger.h), as the reader binds them.
  const int64_t now = NowMs(), lo = now - 120000, edge = (lo / 1000 + 1) * 1000, from = (now - 12000) / 1000 * 1000;
  std::string plan = PlanOf(db, Bind(BuildRetireQuery(shape, false), {std::to_string(lo), std::to_string(edge), std::to_string(from)}),
                            no_bitmaps);
  INFO(plan);
  CHECK_THAT(plan, Catch::Contains("workflow_status_created_at_index"));
  CHECK_THAT(plan, Catch::Contains("idx_workflow_status_completed_at"));
  CHECK_THAT(plan, !Catch::Contains("Seq Scan on workflow_status"));
}
