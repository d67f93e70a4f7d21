#include "system_database.h"

#include <sys/socket.h>

#include <pqxx/pqxx>

#include <set>

#include "drain_error.h"
#include "report_query.h"

namespace dbos_drain {
namespace {

bool HasColumn(const std::map<std::string, std::set<std::string>>& tables, const char* table, const char* column) {
  auto it = tables.find(table);
  return it != tables.end() && it->second.count(column) > 0;
}

// The SQLSTATE of an error. libpqxx 6 throws some of its typed exceptions without one
// (insufficient_privilege, too_many_connections, ...): recover it from the type.
std::string SqlState(const pqxx::sql_error& e) {
  if (!e.sqlstate().empty()) return e.sqlstate();
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&e)) return "42501";
  if (dynamic_cast<const pqxx::too_many_connections*>(&e)) return "53300";
  if (dynamic_cast<const pqxx::undefined_table*>(&e)) return "42P01";
  if (dynamic_cast<const pqxx::undefined_column*>(&e)) return "42703";
  return "";
}

}  // namespace

SystemDatabase::SystemDatabase(ConnectionSettings settings)
    : settings_(std::move(settings)),
      target_(ParseConnectionTarget(settings_.url, settings_.connect_timeout)) {}

SystemDatabase::~SystemDatabase() = default;

void SystemDatabase::Cancel() {
  std::lock_guard<std::mutex> lock(cancel_mutex_);
  if (conn_) {
    try {
      conn_->cancel_query();
    } catch (...) {
      // Nothing to cancel, or the connection is already gone: the Read() fails on its own.
    }
  }
}

void SystemDatabase::Abort() {
  std::lock_guard<std::mutex> lock(cancel_mutex_);
  if (conn_) {
    int fd = conn_->sock();
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
}

[[noreturn]] void SystemDatabase::Fail(const std::exception& e, const char* during) {
  {
    std::lock_guard<std::mutex> lock(cancel_mutex_);
    conn_.reset();  // reconnect and re-detect next time
  }
  auto clean = [&](const std::string& m) {
    std::string s = RedactSecrets(m, target_.password);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    // libpq messages span lines ("FATAL: ...\nDETAIL: ..."); keep one line for logs.
    for (auto& c : s) if (c == '\n' || c == '\t') c = ' ';
    return s;
  };
  const std::string where = " (" + target_.description + ", schema " + settings_.schema + ")";
  if (auto* de = dynamic_cast<const DrainError*>(&e)) throw *de;
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) {
    throw DrainError(ErrorCode::kDatabaseUnavailable,
                     std::string("cannot reach the DBOS system database while ") + during + where + ": " + clean(e.what()));
  }
  if (auto* se = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string state = SqlState(*se);
    if (state == "57014") {
      throw DrainError(ErrorCode::kQueryTimeout,
                       std::string("query timed out after ") + std::to_string(settings_.query_timeout.count()) +
                           " ms while " + during + where + " (a lock or an overloaded database?)");
    }
    if (state == "42501") {
      throw DrainError(ErrorCode::kPermissionDenied,
                       std::string("permission denied while ") + during + where + ": " + clean(se->what()) +
                           " (grant the role SELECT on the tables in examples/sql/readonly-role.sql)");
    }
    if (state == "42P01" || state == "42703" || state == "3F000") {
      throw DrainError(ErrorCode::kSchemaUnrecognized,
                       std::string("the DBOS schema changed or is incomplete while ") + during + where + ": " + clean(se->what()));
    }
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0 || state == "53300") {
      throw DrainError(ErrorCode::kDatabaseUnavailable,
                       std::string("lost the DBOS system database while ") + during + where + ": " + clean(se->what()));
    }
    throw DrainError(ErrorCode::kQueryFailed,
                     std::string("database error while ") + during + where + ": " + clean(se->what()));
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) || dynamic_cast<const pqxx::failure*>(&e)) {
    throw DrainError(ErrorCode::kDatabaseUnavailable,
                     std::string("lost the DBOS system database while ") + during + where + ": " + clean(e.what()));
  }
  throw DrainError(ErrorCode::kQueryFailed, std::string("unexpected error while ") + during + where + ": " + clean(e.what()));
}

void SystemDatabase::Connect() {
  const char* during = "connecting";
  try {
    auto conn = std::make_unique<pqxx::connection>(target_.conninfo);
    during = "configuring the session";
    {
      pqxx::nontransaction setup(*conn);
      setup.exec("SET statement_timeout = " + std::to_string(settings_.query_timeout.count()));
      setup.exec("SET default_transaction_read_only = on");
      // The report reads ~10k in-flight rows through partial indexes; starting parallel workers
      // for that costs more than it saves (bench: p50 9-13 ms with them, 3 ms without).
      setup.exec("SET max_parallel_workers_per_gather = 0");
      setup.exec("SET idle_in_transaction_session_timeout = " + std::to_string(settings_.query_timeout.count() * 2));
    }
    {
      std::lock_guard<std::mutex> lock(cancel_mutex_);
      conn_ = std::move(conn);
    }
    during = "reading the schema";
    shape_ = DetectShape();
    scoped_ = settings_.application.has_value() && shape_.has_application_name;
    during = "preparing the report query";
    conn_->prepare("dbos_drain_report", BuildReportQuery(shape_, scoped_));
    conn_->prepare("dbos_drain_probe", BuildHistoryProbeQuery(shape_, scoped_));
  } catch (const std::exception& e) {
    Fail(e, during);
  }
}

SchemaShape SystemDatabase::DetectShape() {
  SchemaShape shape;
  shape.schema = settings_.schema;
  std::map<std::string, std::set<std::string>> tables;
  {
    pqxx::read_transaction txn(*conn_);
    for (const auto& row : txn.exec_params(kSchemaShapeQuery, settings_.schema)) {
      shape.database = row[2].as<std::string>();
      auto& cols = tables[row[0].as<std::string>()];
      if (!row[1].is_null()) cols.insert(row[1].as<std::string>());
    }
    if (shape.database.empty()) shape.database = txn.exec("SELECT current_database()")[0][0].as<std::string>();
    txn.commit();
  }
  if (!tables.count("workflow_status")) {
    throw DrainError(ErrorCode::kSchemaNotFound,
                     "no DBOS system database found in database \"" + shape.database + "\" schema \"" +
                         settings_.schema + "\": table " + settings_.schema +
                         ".workflow_status does not exist (wrong database, or pass --schema)");
  }
  for (const char* needed : {"status", "application_version", "executor_id", "queue_name", "created_at"}) {
    if (!HasColumn(tables, "workflow_status", needed)) {
      throw DrainError(ErrorCode::kSchemaUnrecognized,
                       "unrecognized DBOS schema in database \"" + shape.database + "\" schema \"" + settings_.schema +
                           "\": " + settings_.schema + ".workflow_status has no column " + needed);
    }
  }
  shape.has_application_name = HasColumn(tables, "workflow_status", "application_name");
  shape.has_delay_until = HasColumn(tables, "workflow_status", "delay_until_epoch_ms");
  shape.has_application_versions = HasColumn(tables, "application_versions", "version_name") &&
                                   HasColumn(tables, "application_versions", "version_timestamp");
  shape.versions_have_application_name = HasColumn(tables, "application_versions", "application_name");
  shape.has_queues = HasColumn(tables, "queues", "name") && HasColumn(tables, "queues", "concurrency");
  shape.queues_have_worker_concurrency = HasColumn(tables, "queues", "worker_concurrency");
  shape.queues_have_application_name = HasColumn(tables, "queues", "application_name");
  if (HasColumn(tables, "dbos_migrations", "version")) {
    // Informational only; a role that cannot read it still gets a report.
    try {
      pqxx::read_transaction txn(*conn_);
      auto r = txn.exec("SELECT max(version)::bigint FROM " + QualifiedTable(settings_.schema, "dbos_migrations"));
      if (!r.empty() && !r[0][0].is_null()) shape.migration = r[0][0].as<int64_t>();
      txn.commit();
    } catch (const pqxx::sql_error& e) {
      if (SqlState(e) != "42501") throw;
    }
  }
  return shape;
}

Snapshot SystemDatabase::Read(const std::vector<std::string>& probe_versions) {
  if (!conn_) Connect();
  try {
    Snapshot snap;
    snap.shape = shape_;
    if (settings_.application) {
      if (scoped_) {
        snap.application = settings_.application;
      } else {
        snap.application_filter_ignored = true;
      }
    }
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(*conn_);
    pqxx::result rows = scoped_ ? txn.exec_prepared("dbos_drain_report", *settings_.application)
                                : txn.exec_prepared("dbos_drain_report");
    for (const auto& row : rows) {
      const std::string kind = row[0].as<std::string>();
      if (kind == "g") {
        auto status = ParseInFlightStatus(row[4].as<std::string>());
        if (!status) continue;
        InFlightGroup g;
        if (!row[1].is_null()) g.version = row[1].as<std::string>();
        if (!row[2].is_null()) g.queue = row[2].as<std::string>();
        g.executor = row[3].as<std::string>();
        g.status = *status;
        g.count = row[5].as<int64_t>();
        g.oldest_created_at_ms = row[6].as<int64_t>();
        snap.groups.push_back(std::move(g));
      } else if (kind == "v") {
        snap.registered.push_back({row[1].as<std::string>(), row[6].as<int64_t>(0), row[7].as<int64_t>(0)});
      } else if (kind == "q") {
        QueueConfig q;
        q.name = row[2].as<std::string>();
        if (!row[6].is_null()) q.concurrency = row[6].as<int64_t>();
        if (!row[7].is_null()) q.worker_concurrency = row[7].as<int64_t>();
        snap.queues.push_back(std::move(q));
      } else if (kind == "n") {
        snap.as_of_ms = row[6].as<int64_t>();
      }
    }
    // Look up in history only the versions the report does not already show.
    std::set<std::string> seen;
    for (const auto& r : snap.registered) seen.insert(r.name);
    for (const auto& g : snap.groups) if (g.version) seen.insert(*g.version);
    std::vector<std::string> probe;
    for (const auto& v : probe_versions) if (!seen.count(v)) probe.push_back(v);
    if (!probe.empty()) {
      // libpqxx 6 has no array parameter type; pass a text[] literal.
      std::string literal = "{";
      for (size_t i = 0; i < probe.size(); ++i) {
        literal += (i ? ",\"" : "\"");
        for (char c : probe[i]) {
          if (c == '"' || c == '\\') literal += '\\';
          literal += c;
        }
        literal += '"';
      }
      literal += "}";
      // In a subtransaction: on a huge history without an index on application_version the
      // probe may hit statement_timeout. That must not cost the report (every version's
      // verdict); the asked versions just stay unknown (not drained) until a later probe.
      try {
        pqxx::subtransaction probe_txn(txn, "history_probe");
        pqxx::result found = scoped_ ? probe_txn.exec_prepared("dbos_drain_probe", literal, *settings_.application)
                                     : probe_txn.exec_prepared("dbos_drain_probe", literal);
        probe_txn.commit();
        for (const auto& row : found) snap.versions_with_history.insert(row[0].as<std::string>());
        snap.versions_probed.insert(probe.begin(), probe.end());
      } catch (const pqxx::sql_error& e) {
        if (SqlState(e) != "57014") throw;
        // Counted as looked up and not found, so the service waits probe_interval before
        // trying again instead of timing out on every refresh.
        snap.history_probe_timed_out = true;
        snap.versions_probed.insert(probe.begin(), probe.end());
      }
    }
    txn.commit();
    return snap;
  } catch (const std::exception& e) {
    Fail(e, "reading the drain report");
  }
}

}  // namespace dbos_drain
