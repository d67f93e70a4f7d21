// A fresh PostgreSQL database per test, made from one of the project's schema fixtures, on the
// server that scripts/with-postgres.sh started ($DBOS_DRAIN_TEST_ADMIN_URL). One-line helpers
// insert the rows a test needs; the database (and any role the test made) is dropped at the end.
//
//   TestDatabase db;                                   // schema-newest.sql in schema "dbos"
//   TestDatabase old("schema-ts-3x.sql");              // an older shape
//   db.InsertVersion("v1", NowMs() - 60'000);
//   db.InsertWorkflow(Workflow("PENDING").Version("v1").Queue("tasks"));
//   db.InsertStep(Step(id, 0, "prepare"));  db.InsertStep(Step::Marker(id, 1, "fast-path"));
//   RunDrain({"status", "--database-url", db.url()});
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

namespace dbos_drain::testing {

// $DBOS_DRAIN_TEST_ADMIN_URL; throws with a message saying how to run the tests when unset.
std::string AdminUrl();

// The source tree (for fixtures): $DBOS_DRAIN_SOURCE_DIR, else the path compiled in.
std::string SourceDir();
std::string FixturePath(const std::string& file);  // SourceDir()/test/fixtures/file

int64_t NowMs();
int64_t AgoMs(std::chrono::milliseconds age);  // NowMs() - age

// One workflow_status row. Chainable: Workflow("ENQUEUED").Version("v1").Queue("tasks").
struct Workflow {
  explicit Workflow(std::string status_ = "PENDING") : status(std::move(status_)) {}
  std::string id;  // workflow_uuid; generated when empty
  std::string status;
  std::optional<std::string> version;      // application_version (NULL when unset)
  std::optional<std::string> queue;        // queue_name (NULL when unset; '' is a value)
  std::optional<std::string> executor = std::string("worker-1");
  std::optional<int64_t> created_at_ms;    // now when unset
  std::optional<std::string> application;  // application_name; only written when set
  std::optional<int64_t> delay_until_ms;   // delay_until_epoch_ms; only written when set
  std::string name = "testWorkflow";       // workflow_status.name (the workflow function's name)
  std::optional<int64_t> completed_at_ms;  // completed_at (newer schemas, set by the SDK on finish); only written when set
  std::optional<std::string> forked_from;  // forked_from; only written when set

  Workflow& Id(std::string v) { id = std::move(v); return *this; }
  Workflow& Version(std::optional<std::string> v) { version = std::move(v); return *this; }
  Workflow& Queue(std::optional<std::string> v) { queue = std::move(v); return *this; }
  Workflow& Executor(std::optional<std::string> v) { executor = std::move(v); return *this; }
  Workflow& CreatedAt(int64_t ms) { created_at_ms = ms; return *this; }
  Workflow& CreatedAgo(std::chrono::milliseconds age) { created_at_ms = AgoMs(age); return *this; }
  Workflow& Application(std::optional<std::string> v) { application = std::move(v); return *this; }
  Workflow& DelayUntil(int64_t ms) { delay_until_ms = ms; return *this; }
  Workflow& Name(std::string v) { name = std::move(v); return *this; }
  Workflow& CompletedAt(int64_t ms) { completed_at_ms = ms; return *this; }
  Workflow& CompletedAgo(std::chrono::milliseconds age) { completed_at_ms = AgoMs(age); return *this; }
  Workflow& ForkedFrom(std::string v) { forked_from = std::move(v); return *this; }
  // What rewindWorkflow / resumeWorkflow / import_workflow leave (issue 22): an old row back in
  // ENQUEUED on its queue with its old created_at and version, completed_at cleared.
  static Workflow Rewound(std::string version, std::string queue, std::chrono::milliseconds age) {
    Workflow w("ENQUEUED");
    w.version = std::move(version);
    w.queue = std::move(queue);
    w.created_at_ms = AgoMs(age);
    return w;
  }
};

// One operation_outputs row as the TS SDK 5.3.0 writes it (schema-newest.sql). A completed step
// (Step): output JSON with serialization 'js_superjson', started shortly before completed. A patch
// marker (Step::Marker, what DBOS.patch() inserts where no row is): function_name
// 'DBOS.patch-<name>', output, error and serialization NULL, started = completed. A durable sleep
// (Step::Sleep, also a recv's timeout at the recv's id + 1): output the wake-up time in ms,
// serialization 'portable_json', started = completed. A recv that has not returned and a step in
// progress have no row at all: insert none.
struct Step {
  Step(std::string workflow_id_, int function_id_, std::string function_name_)
      : workflow_id(std::move(workflow_id_)), function_id(function_id_), function_name(std::move(function_name_)) {}
  static Step Marker(std::string workflow_id, int function_id, const std::string& patch);
  static Step Sleep(std::string workflow_id, int function_id, int64_t wake_up_ms);
  // Issue 22: the same marker as the Go SDK writes it (started and completed NULL, no
  // application_name) and as Java writes it (started = now, completed NULL).
  static Step GoMarker(std::string workflow_id, int function_id, const std::string& patch);
  static Step JavaMarker(std::string workflow_id, int function_id, const std::string& patch);
  std::string workflow_id;
  int function_id;
  std::string function_name;
  std::optional<std::string> output = std::string(R"({"json":"ok","__dbos_serializer":"superjson"})");
  std::optional<std::string> serialization = std::string("js_superjson");
  std::optional<int64_t> completed_at_ms;  // now when unset
  int64_t duration_ms = 2;                 // started = completed - duration
  std::optional<std::string> application = std::string("dbos-app-starter");  // application_name
  bool started_null = false;    // started_at_epoch_ms NULL
  bool completed_null = false;  // completed_at_epoch_ms NULL

  Step& At(int64_t completed_ms) { completed_at_ms = completed_ms; return *this; }
  Step& Ago(std::chrono::milliseconds age) { completed_at_ms = AgoMs(age); return *this; }
  Step& Application(std::optional<std::string> v) { application = std::move(v); return *this; }
};

class TestDatabase {
 public:
  // Creates a uniquely named database and loads `fixture` (a file in test/fixtures, loaded with
  // `psql -v schema=SCHEMA`); an empty fixture leaves the database empty. Throws on failure.
  explicit TestDatabase(const std::string& fixture = "schema-newest.sql", const std::string& schema = "dbos");
  ~TestDatabase();  // drops the database (WITH (FORCE)) and the roles made by CreateRole
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& schema() const { return schema_; }
  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }

  // postgresql://USER[:PASSWORD]@HOST:PORT/NAME; the superuser by default.
  std::string url() const;
  std::string UrlAs(const std::string& user, const std::string& password = "") const;
  // The same target as a libpq key=value string.
  std::string KeyValueUrl() const;

  // Runs SQL as the superuser in this database (several statements allowed).
  void Exec(const std::string& sql) const;
  pqxx::result Query(const std::string& sql) const;
  // A new superuser connection to this database (e.g. to hold a lock in a transaction).
  std::unique_ptr<pqxx::connection> Connect() const;

  // `psql --single-transaction -v ON_ERROR_STOP=1 [-v schema=SCHEMA] -f path` into this database:
  // a reader running meanwhile sees all of the file or none of it (as a DBOS migration is seen),
  // never a schema half made. Throws with psql's output on failure.
  void LoadSqlFile(const std::string& path, const std::optional<std::string>& schema) const;

  // Inserts one row into SCHEMA.workflow_status; returns its workflow_uuid.
  std::string InsertWorkflow(const Workflow& workflow) const;
  // Inserts `n` rows like `workflow` (ids generated); returns their ids.
  std::vector<std::string> InsertWorkflows(int n, const Workflow& workflow) const;
  void SetStatus(const std::string& workflow_id, const std::string& status) const;
  // Finishes a workflow as the newer SDKs do: status, updated_at and completed_at = now (the
  // fixture must have completed_at: schema-newest.sql).
  void Finish(const std::string& workflow_id, const std::string& status = "SUCCESS") const;
  // Inserts one row into SCHEMA.operation_outputs.
  void InsertStep(const Step& step) const;
  void InsertVersion(const std::string& name, int64_t version_timestamp_ms,
                     const std::optional<std::string>& application = std::nullopt) const;
  void InsertQueue(const std::string& name, std::optional<int> concurrency, std::optional<int> worker_concurrency,
                   const std::optional<std::string>& application = std::nullopt) const;

  // CREATE EXTENSION pg_stat_statements here, and checks that it collects: the server must
  // preload it, which scripts/with-postgres.sh always does. Throws std::runtime_error saying so
  // otherwise: tests that count statements fail loudly rather than pass without counting.
  void EnableStatementStatistics() const;

  // Creates a LOGIN role (unique name starting with `prefix`) with CONNECT on this database and
  // USAGE on the schema; with `select`, SELECT on every table of the schema. Returns its name.
  std::string CreateRole(const std::string& prefix, const std::string& password, bool select) const;

  // Quotes an identifier / a literal for SQL text.
  static std::string Ident(const std::string& s);
  static std::string Literal(const std::optional<std::string>& s);
  std::string Table(const std::string& table) const;  // "schema".table

 private:
  std::string name_;
  std::string schema_;
  std::string host_, port_, admin_user_, admin_password_;
  mutable std::unique_ptr<pqxx::connection> conn_;
  mutable std::vector<std::string> roles_;
  mutable int next_id_ = 0;
};

// Drops a cluster-wide role made outside TestDatabase::CreateRole (e.g. by
// examples/sql/readonly-role.sql) at the end of the scope. Declare it before the TestDatabase,
// so it runs after the database (and its grants) are dropped. Errors are ignored.
struct RoleGuard {
  std::string role;
  ~RoleGuard();
};

}  // namespace dbos_drain::testing
