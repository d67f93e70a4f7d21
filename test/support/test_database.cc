#include "test_database.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <stdexcept>

#include "process.h"

namespace dbos_drain::testing {
namespace {

std::atomic<int> g_counter{0};

std::string RandomSuffix() {
  static std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(getpid()));
  const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  for (int i = 0; i < 6; ++i) s += digits[rng() % 36];
  return s;
}

std::string AdminConnectionFor(const std::string& dbname) {
  // The admin URL with its database replaced: parse with libpq, rebuild as key=value.
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(AdminUrl().c_str(), &err);
  if (!opts) {
    std::string m = err ? err : "?";
    if (err) PQfreemem(err);
    throw std::runtime_error("cannot parse DBOS_DRAIN_TEST_ADMIN_URL: " + m);
  }
  std::string out;
  for (auto* o = opts; o->keyword; ++o) {
    if (!o->val || std::string(o->keyword) == "dbname") continue;
    out += std::string(o->keyword) + "='" + o->val + "' ";
  }
  PQconninfoFree(opts);
  return out + "dbname='" + dbname + "'";
}

std::string AdminPart(const char* key) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(AdminUrl().c_str(), &err);
  if (!opts) {
    if (err) PQfreemem(err);
    throw std::runtime_error("cannot parse DBOS_DRAIN_TEST_ADMIN_URL");
  }
  std::string value;
  for (auto* o = opts; o->keyword; ++o) {
    if (o->val && std::string(o->keyword) == key) value = o->val;
  }
  PQconninfoFree(opts);
  return value;
}

}  // namespace

std::string AdminUrl() {
  const char* url = std::getenv("DBOS_DRAIN_TEST_ADMIN_URL");
  if (!url || !*url) {
    throw std::runtime_error(
        "DBOS_DRAIN_TEST_ADMIN_URL is not set: the database tests need a PostgreSQL superuser URL. "
        "Run them through scripts/with-postgres.sh (e.g. `scripts/with-postgres.sh ctest --test-dir build`) "
        "or scripts/test.sh");
  }
  return url;
}

std::string SourceDir() {
  if (const char* dir = std::getenv("DBOS_DRAIN_SOURCE_DIR"); dir && *dir) return dir;
#ifdef DBOS_DRAIN_SOURCE_DIR_DEFAULT
  return DBOS_DRAIN_SOURCE_DIR_DEFAULT;
#else
  throw std::runtime_error("DBOS_DRAIN_SOURCE_DIR is not set");
#endif
}

std::string FixturePath(const std::string& file) { return SourceDir() + "/test/fixtures/" + file; }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t AgoMs(std::chrono::milliseconds age) { return NowMs() - age.count(); }

TestDatabase::TestDatabase(const std::string& fixture, const std::string& schema) : schema_(schema) {
  name_ = "dd_test_" + std::to_string(getpid()) + "_" + std::to_string(g_counter++) + "_" + RandomSuffix();
  host_ = AdminPart("host");
  if (host_.empty()) host_ = AdminPart("hostaddr");
  port_ = AdminPart("port");
  if (port_.empty()) port_ = "5432";
  admin_user_ = AdminPart("user");
  if (admin_user_.empty()) admin_user_ = "postgres";
  admin_password_ = AdminPart("password");
  {
    pqxx::connection admin(AdminUrl());
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE " + Ident(name_));
  }
  try {
    conn_ = std::make_unique<pqxx::connection>(AdminConnectionFor(name_));
    if (!fixture.empty()) LoadSqlFile(FixturePath(fixture), schema_);
  } catch (...) {
    conn_.reset();
    try {
      pqxx::connection admin(AdminUrl());
      pqxx::nontransaction tx(admin);
      tx.exec("DROP DATABASE IF EXISTS " + Ident(name_) + " WITH (FORCE)");
    } catch (...) {
    }
    throw;
  }
}

TestDatabase::~TestDatabase() {
  conn_.reset();
  try {
    pqxx::connection admin(AdminUrl());
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + Ident(name_) + " WITH (FORCE)");
    for (const auto& role : roles_) tx.exec("DROP ROLE IF EXISTS " + Ident(role));
  } catch (const std::exception&) {
    // The server may be gone (a test stopped it); the throwaway cluster is removed anyway.
  }
}

std::string TestDatabase::Ident(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string TestDatabase::Literal(const std::optional<std::string>& s) {
  if (!s) return "NULL";
  std::string out = "'";
  for (char c : *s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string TestDatabase::Table(const std::string& table) const { return Ident(schema_) + "." + table; }

std::string TestDatabase::UrlAs(const std::string& user, const std::string& password) const {
  std::string auth = user + (password.empty() ? "" : ":" + password);
  std::string h = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  return "postgresql://" + auth + "@" + h + ":" + port_ + "/" + name_;
}

std::string TestDatabase::url() const { return UrlAs(admin_user_, admin_password_); }

std::string TestDatabase::KeyValueUrl() const {
  std::string kv = "host=" + host_ + " port=" + port_ + " dbname=" + name_ + " user=" + admin_user_;
  if (!admin_password_.empty()) kv += " password=" + admin_password_;
  return kv;
}

void TestDatabase::Exec(const std::string& sql) const {
  pqxx::nontransaction tx(*conn_);
  tx.exec(sql);
}

pqxx::result TestDatabase::Query(const std::string& sql) const {
  pqxx::nontransaction tx(*conn_);
  return tx.exec(sql);
}

void TestDatabase::EnableStatementStatistics() const {
  try {
    Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    Query("SELECT count(*) FROM pg_stat_statements");
  } catch (const std::exception& e) {
    throw std::runtime_error(
        "pg_stat_statements does not collect on this server (it must be in shared_preload_libraries, as "
        "scripts/with-postgres.sh sets it: run the tests through that script): " + std::string(e.what()));
  }
}

std::unique_ptr<pqxx::connection> TestDatabase::Connect() const {
  return std::make_unique<pqxx::connection>(AdminConnectionFor(name_));
}

void TestDatabase::LoadSqlFile(const std::string& path, const std::optional<std::string>& schema) const {
  std::vector<std::string> argv{"psql", "-X", "-q", "--single-transaction", "-v", "ON_ERROR_STOP=1"};
  if (schema) {
    argv.push_back("-v");
    argv.push_back("schema=" + *schema);
  }
  argv.push_back("-f");
  argv.push_back(path);
  argv.push_back("-d");
  argv.push_back(url());
  ProcessOptions options;
  options.timeout = std::chrono::seconds(60);
  ProcessResult r = RunProcess(argv, options);
  if (r.exit_code != 0) throw std::runtime_error("loading " + path + " into " + name_ + " failed: " + r.Describe());
}

std::string TestDatabase::InsertWorkflow(const Workflow& w) const {
  std::string id = w.id.empty() ? "wf-" + std::to_string(next_id_++) + "-" + RandomSuffix() : w.id;
  std::string columns = "workflow_uuid, status, name, application_version, queue_name, executor_id, created_at, updated_at";
  const int64_t created = w.created_at_ms ? *w.created_at_ms : NowMs();
  std::string values = Literal(id) + ", " + Literal(w.status) + ", " + Literal(w.name) + ", " + Literal(w.version) + ", " +
                       Literal(w.queue) + ", " + Literal(w.executor) + ", " + std::to_string(created) + ", " +
                       std::to_string(created);
  if (!w.queue) {
    // Older Go SDK schemas declare queue_name NOT NULL DEFAULT '': let the default apply.
    columns = "workflow_uuid, status, name, application_version, executor_id, created_at, updated_at";
    values = Literal(id) + ", " + Literal(w.status) + ", " + Literal(w.name) + ", " + Literal(w.version) + ", " +
             Literal(w.executor) + ", " + std::to_string(created) + ", " + std::to_string(created);
  }
  if (w.application) {
    columns += ", application_name";
    values += ", " + Literal(w.application);
  }
  if (w.delay_until_ms) {
    columns += ", delay_until_epoch_ms";
    values += ", " + std::to_string(*w.delay_until_ms);
  }
  if (w.completed_at_ms) {
    columns += ", completed_at";
    values += ", " + std::to_string(*w.completed_at_ms);
  }
  if (w.forked_from) {
    columns += ", forked_from";
    values += ", " + Literal(w.forked_from);
  }
  Exec("INSERT INTO " + Table("workflow_status") + " (" + columns + ") VALUES (" + values + ")");
  return id;
}

std::vector<std::string> TestDatabase::InsertWorkflows(int n, const Workflow& w) const {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    Workflow copy = w;
    copy.id.clear();
    ids.push_back(InsertWorkflow(copy));
  }
  return ids;
}

Step Step::Marker(std::string workflow_id, int function_id, const std::string& patch) {
  Step s(std::move(workflow_id), function_id, "DBOS.patch-" + patch);
  s.output.reset();
  s.serialization.reset();
  s.duration_ms = 0;
  return s;
}

Step Step::GoMarker(std::string workflow_id, int function_id, const std::string& patch) {
  Step s = Marker(std::move(workflow_id), function_id, patch);
  s.started_null = s.completed_null = true;
  s.application.reset();
  return s;
}

Step Step::JavaMarker(std::string workflow_id, int function_id, const std::string& patch) {
  Step s = Marker(std::move(workflow_id), function_id, patch);
  s.completed_null = true;
  return s;
}

Step Step::Sleep(std::string workflow_id, int function_id, int64_t wake_up_ms) {
  Step s(std::move(workflow_id), function_id, "DBOS.sleep");
  s.output = std::to_string(wake_up_ms);
  s.serialization = "portable_json";
  s.duration_ms = 0;
  return s;
}

void TestDatabase::InsertStep(const Step& s) const {
  const int64_t completed = s.completed_at_ms ? *s.completed_at_ms : NowMs();
  Exec("INSERT INTO " + Table("operation_outputs") +
       " (workflow_uuid, function_id, function_name, output, error, child_workflow_id, started_at_epoch_ms,"
       " completed_at_epoch_ms, serialization, application_name) VALUES (" +
       Literal(s.workflow_id) + ", " + std::to_string(s.function_id) + ", " + Literal(s.function_name) + ", " +
       Literal(s.output) + ", NULL, NULL, " + (s.started_null ? "NULL" : std::to_string(completed - s.duration_ms)) +
       ", " + (s.completed_null ? "NULL" : std::to_string(completed)) + ", " + Literal(s.serialization) + ", " +
       Literal(s.application) + ")");
}

void TestDatabase::SetStatus(const std::string& workflow_id, const std::string& status) const {
  Exec("UPDATE " + Table("workflow_status") + " SET status = " + Literal(status) +
       ", updated_at = (extract(epoch FROM now()) * 1000)::bigint WHERE workflow_uuid = " + Literal(workflow_id));
}

void TestDatabase::Finish(const std::string& workflow_id, const std::string& status) const {
  Exec("UPDATE " + Table("workflow_status") + " SET status = " + Literal(status) +
       ", updated_at = (extract(epoch FROM now()) * 1000)::bigint"
       ", completed_at = (extract(epoch FROM now()) * 1000)::bigint WHERE workflow_uuid = " + Literal(workflow_id));
}

void TestDatabase::InsertVersion(const std::string& name, int64_t version_timestamp_ms,
                                 const std::optional<std::string>& application) const {
  std::string columns = "version_id, version_name, version_timestamp, created_at";
  std::string values = Literal("id-" + name + "-" + RandomSuffix()) + ", " + Literal(name) + ", " +
                       std::to_string(version_timestamp_ms) + ", " + std::to_string(version_timestamp_ms);
  if (application) {
    columns += ", application_name";
    values += ", " + Literal(application);
  }
  Exec("INSERT INTO " + Table("application_versions") + " (" + columns + ") VALUES (" + values + ")");
}

void TestDatabase::InsertQueue(const std::string& name, std::optional<int> concurrency,
                               std::optional<int> worker_concurrency,
                               const std::optional<std::string>& application) const {
  auto num = [](std::optional<int> v) { return v ? std::to_string(*v) : std::string("NULL"); };
  std::string columns = "name, concurrency, worker_concurrency";
  std::string values = Literal(name) + ", " + num(concurrency) + ", " + num(worker_concurrency);
  if (application) {
    columns += ", application_name";
    values += ", " + Literal(application);
  }
  Exec("INSERT INTO " + Table("queues") + " (" + columns + ") VALUES (" + values + ")");
}

std::string TestDatabase::CreateRole(const std::string& prefix, const std::string& password, bool select) const {
  std::string role = prefix + "_" + std::to_string(getpid()) + "_" + RandomSuffix();
  Exec("CREATE ROLE " + Ident(role) + " LOGIN PASSWORD " + Literal(password));
  roles_.push_back(role);
  Exec("GRANT CONNECT ON DATABASE " + Ident(name_) + " TO " + Ident(role));
  Exec("GRANT USAGE ON SCHEMA " + Ident(schema_) + " TO " + Ident(role));
  if (select) Exec("GRANT SELECT ON ALL TABLES IN SCHEMA " + Ident(schema_) + " TO " + Ident(role));
  return role;
}

RoleGuard::~RoleGuard() {
  try {
    pqxx::connection admin(AdminUrl());
    pqxx::nontransaction tx(admin);
    tx.exec("DROP ROLE IF EXISTS " + TestDatabase::Ident(role));
  } catch (const std::exception&) {
  }
}

}  // namespace dbos_drain::testing
