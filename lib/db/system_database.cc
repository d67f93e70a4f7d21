#include "system_database.h"

#include <poll.h>
#include <sys/socket.h>

#include <libpq-fe.h>
#include <pqxx/pqxx>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "database_failure.h"
#include "drain_error.h"
#include "pqxx_failure.h"
#include "report_query.h"
#include "retire_query.h"
#include "report_rows.h"
#include "report_session.h"
#include "schema_catalog.h"
#include "standby_query.h"
#include "status_ledger.h"
#include "text_array.h"
#include "transaction_scope.h"
#include "pooler_refusal.h"
#include "window_ledger.h"

namespace dbos_drain {
namespace {

using ReadTransaction = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

std::optional<std::string> Text(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

std::optional<int64_t> Int(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int64_t>();
}

ReportRow ToReportRow(const pqxx::row& row) {
  ReportRow r;
  r.kind = row[0].as<std::string>();
  r.version = Text(row[1]);
  r.queue = Text(row[2]);
  r.executor = Text(row[3]);
  r.status = Text(row[4]);
  r.n = Int(row[5]);
  r.a = Int(row[6]);
  r.b = Int(row[7]);
  return r;
}

}  // namespace

struct SystemDatabase::Impl {
  ConnectionSettings settings;
  ConnectionTarget target;
  std::unique_ptr<pqxx::connection> conn;
  std::mutex cancel_mutex;  // guards conn's pointer identity for Cancel() and Abort()
  SchemaShape shape;
  bool scoped = false;  // the application filter applies to this schema
  // Connections made so far, plus the times a transaction ran on another server than the one
  // before (behind a pooler): ReadWith's `connection`, "state derived from the database may be stale".
  uint64_t connection_count = 0;
  ReportSession session;  // the report transaction's settings, sized by the previous read
  // The statements, built once per schema shape and sent unnamed with their parameters: no named
  // prepared statement lives on a server connection a pooler may swap (transaction_scope.h).
  std::string report_sql, retire_sql, probe_sql;
  bool report_sql_index_scans = true;  // what report_sql was built for
  WindowLedger window;  // the quiet period's rows of earlier reads from this server (window_ledger.h)
  std::optional<ServerSeen> server;  // where the last transaction ran
  bool through_pooler = false;       // some transaction ran on a backend libpq was not given at connection
  std::atomic<bool> aborted{false};  // Abort() was called since the last Connect()
  StatusLedger statuses;  // the last status check on this server (status_ledger.h)

  Impl(ConnectionSettings s)
      : settings(std::move(s)), target(ParseConnectionTarget(settings.url, settings.connect_timeout)) {}

  void Connect();
  // The first statement of every transaction (transaction_scope.h): applies `settings` to this
  // transaction only and notes the server it runs on. Another server than the last transaction's
  // (a pooler may switch: failover, several hosts) is read afresh, as a new connection is: the
  // schema shape again, the window ledger from scratch, `connection_count` bumped.
  ServerSeen Begin(pqxx::dbtransaction& txn, const std::vector<Setting>& settings);
  SchemaShape DetectShape(pqxx::dbtransaction& txn);
  void BuildStatements();
  int64_t EstimateInFlightRows(pqxx::dbtransaction& txn);
  [[noreturn]] void Fail(const std::exception& e, const char* during);
  // The read ran past settings.read_deadline and was aborted: drops the connection, throws kQueryTimeout.
  [[noreturn]] void Overdue(const char* during);

  // The steps of one Read(), all in the snapshot's one transaction. Another statement for the
  // snapshot is one more step, called from Read().
  Snapshot NewSnapshot() const;
  StandbyObservation ReadStandby(ServerSeen& where);
  void ReadReport(ReadTransaction& txn, Snapshot& snap);
  void ReadRetireInputs(ReadTransaction& txn, Snapshot& snap);  // retire_query.h
  bool CheckStatuses(ReadTransaction& txn, Snapshot& snap);     // false: timed out
  void ProbeHistory(ReadTransaction& txn, Snapshot& snap, const std::vector<std::string>& probe);
};

namespace {

// ConnectionSettings::read_deadline: calls `abort` once `limit` has passed, unless destroyed first.
class ReadDeadline {
 public:
  ReadDeadline(std::optional<std::chrono::milliseconds> limit, std::function<void()> abort) {
    if (!limit) return;
    thread_ = std::thread([this, limit, abort = std::move(abort)] {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!done_cv_.wait_for(lock, *limit, [this] { return done_; })) {
        fired_ = true;
        lock.unlock();
        abort();
      }
    });
  }
  ~ReadDeadline() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() {
    std::lock_guard<std::mutex> lock(mutex_);
    return fired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

}  // namespace

SystemDatabase::SystemDatabase(ConnectionSettings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {}

SystemDatabase::~SystemDatabase() = default;

const std::string& SystemDatabase::description() const { return impl_->target.description; }
const ConnectionSettings& SystemDatabase::settings() const { return impl_->settings; }
bool SystemDatabase::through_pooler() const { return impl_->through_pooler; }

void SystemDatabase::Cancel() {
  std::lock_guard<std::mutex> lock(impl_->cancel_mutex);
  if (impl_->conn) {
    try {
      impl_->conn->cancel_query();
    } catch (...) {
      // Nothing to cancel, or the connection is already gone: the Read() fails on its own.
    }
  }
}

void SystemDatabase::Abort() {
  std::lock_guard<std::mutex> lock(impl_->cancel_mutex);
  impl_->aborted = true;
  if (impl_->conn) {
    int fd = impl_->conn->sock();
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
}

namespace {

StandbyObservation ToStandbyObservation(const pqxx::row& row) {
  StandbyObservation o;
  o.in_recovery = row[0].as<bool>();
  o.now_ms = row[1].as<int64_t>();
  if (!row[2].is_null()) o.receive_lsn = row[2].as<std::string>();
  if (!row[3].is_null()) o.replay_lsn = row[3].as<std::string>();
  if (!row[4].is_null()) o.replay_behind_bytes = row[4].as<int64_t>();
  if (!row[5].is_null()) o.last_replay_ms = row[5].as<int64_t>();
  o.replay_paused = row[6].as<bool>(false);
  o.receiver_running = row[7].as<bool>(false);
  if (!row[8].is_null()) o.receiver_status = row[8].as<std::string>();
  if (!row[9].is_null()) o.last_message_ms = row[9].as<int64_t>();
  if (!row[10].is_null()) o.receiver_timeout_ms = row[10].as<int64_t>();
  return o;
}

// What the server (or a pooler) answers to BEGIN, asked with libpq directly on a connection of its
// own: "" when BEGIN works. Only after the first transaction of a new connection broke: a pooler
// that refuses transactions (PgBouncer in statement mode) says why and closes the connection,
// and libpqxx 6 then reports only "not connected".
// At most `wait` for the answer (a busy pool would queue BEGIN): "" when none came.
std::string WhatBeginSays(const std::string& conninfo, std::chrono::milliseconds wait) {
  std::string said;
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) == CONNECTION_OK && PQsendQuery(c, "BEGIN")) {
    const auto until = std::chrono::steady_clock::now() + wait;
    bool answered = false;
    while (!answered) {
      if (!PQconsumeInput(c)) {
        said = PQerrorMessage(c);
        break;
      }
      if (!PQisBusy(c)) {
        answered = true;
        break;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{PQsocket(c), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) < 0) break;
    }
    if (answered) {
      while (PGresult* r = PQgetResult(c)) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) said += PQresultErrorMessage(r);
        PQclear(r);
      }
      if (said.empty() && PQstatus(c) != CONNECTION_OK) said = PQerrorMessage(c);
    }
  }
  PQfinish(c);  // an open transaction ends with the connection
  return said;
}

}  // namespace

// Issue 15: primary or standby, and a standby's replay position (standby_query.h). Its own
// transaction, before the snapshot's: what it sees replayed is already in the snapshot.
StandbyObservation SystemDatabase::Impl::ReadStandby(ServerSeen& where) {
  pqxx::read_transaction txn(*conn);
  where = Begin(txn, TransactionSettings(settings.query_timeout));
  StandbyObservation o = ToStandbyObservation(txn.exec(kStandbyQuery)[0]);
  txn.commit();
  return o;
}

Snapshot SystemDatabase::Read(const std::vector<std::string>& probe_versions) {
  ReadDeadline deadline(impl_->settings.read_deadline, [this] { Abort(); });
  try {
    if (!impl_->conn) impl_->Connect();
    ServerSeen standby_server;
    StandbyObservation standby = impl_->ReadStandby(standby_server);
    ReadTransaction txn(*impl_->conn);
    const ServerSeen snapshot_server =
        impl_->Begin(txn, TransactionSettings(impl_->settings.query_timeout, impl_->session));
    Snapshot snap = impl_->NewSnapshot();
    if (!SameServer(standby_server, snapshot_server) || standby.in_recovery != snapshot_server.in_recovery) {
      // A pooler ran the two transactions on different servers (or the server was promoted in
      // between): the replay position read is not this snapshot's. A primary's data is current;
      // a standby's lag is then unknown (no replay time), so it is not fresh (replica_lag.h).
      StandbyObservation unknown;
      unknown.in_recovery = snapshot_server.in_recovery;
      unknown.now_ms = standby.now_ms;
      unknown.other_server = true;
      standby = unknown;
    }
    snap.standby = standby;
    impl_->ReadReport(txn, snap);
    impl_->ReadRetireInputs(txn, snap);
    const bool check = impl_->statuses.ScanDue(snap, impl_->settings.status_check_interval);
    const bool checked = check && impl_->CheckStatuses(txn, snap);
    impl_->ProbeHistory(txn, snap, VersionsToProbe(snap, probe_versions));
    txn.commit();
    int64_t in_flight_rows = 0;
    for (const auto& g : snap.groups) in_flight_rows += g.count;
    if (check && !checked) {
      impl_->statuses.RecordFailedCheck(snap);
    } else {
      impl_->statuses.Record(snap, checked);
    }
    impl_->session = SizeReportSession(in_flight_rows);  // for the next read
    return snap;
  } catch (const DrainError& e) {
    if (deadline.fired()) impl_->Overdue("reading the drain report");
    throw;
  } catch (const std::exception& e) {
    if (deadline.fired()) impl_->Overdue("reading the drain report");
    impl_->Fail(e, "reading the drain report");
  }
}

[[noreturn]] void SystemDatabase::Impl::Fail(const std::exception& e, const char* during) {
  {
    std::lock_guard<std::mutex> lock(cancel_mutex);
    conn.reset();  // reconnect and re-detect next time
  }
  if (auto* de = dynamic_cast<const DrainError*>(&e)) throw *de;
  FailureContext context;
  context.during = during;
  context.description = target.description;
  context.schema = settings.schema;
  context.password = target.password;
  context.query_timeout = settings.query_timeout;
  const DatabaseFailure failure = DescribeFailure(e);
  if (auto refused = RecognizePoolerRefusal(failure, context)) throw *refused;
  throw ClassifyFailure(failure, context);
}

[[noreturn]] void SystemDatabase::Impl::Overdue(const char* during) {
  {
    std::lock_guard<std::mutex> lock(cancel_mutex);
    conn.reset();
  }
  throw DrainError(ErrorCode::kQueryTimeout,
                   "no answer from the database within " + std::to_string(settings.read_deadline->count()) +
                       " ms while " + during + " (" + target.description + ", schema " + settings.schema +
                       "): a connection pooler whose server connections are all busy, or a server that does not "
                       "answer (the bound is --connect-timeout + --query-timeout + 1s)");
}

void SystemDatabase::Impl::Connect() {
  const char* during = "connecting";
  try {
    // No session settings and no startup options: each transaction sets what it needs
    // (transaction_scope.h), as a pooler in transaction mode requires.
    auto fresh = std::make_unique<pqxx::connection>(target.conninfo);
    {
      std::lock_guard<std::mutex> lock(cancel_mutex);
      conn = std::move(fresh);
      aborted = false;
    }
    ++connection_count;
    window.Reset();  // another server, perhaps: read the whole window afresh
    server.reset();
    through_pooler = false;
    statuses.Reset();  // and check the statuses afresh
    during = "reading the schema";
    pqxx::read_transaction txn(*conn);
    Begin(txn, TransactionSettings(settings.query_timeout));
    shape = DetectShape(txn);
    scoped = settings.application.has_value() && shape.has_application_name;
    BuildStatements();
    during = "estimating the backlog";
    session = SizeReportSession(EstimateInFlightRows(txn));
    txn.commit();
  } catch (const std::exception& e) {
    const DatabaseFailure failure = DescribeFailure(e);
    if (conn && !aborted && (failure.kind == DatabaseFailure::Kind::kConnection || failure.kind == DatabaseFailure::Kind::kLost)) {
      const std::string said = WhatBeginSays(target.conninfo, settings.query_timeout);
      if (!said.empty()) Fail(std::runtime_error(said), during);
    }
    Fail(e, during);
  }
}

ServerSeen SystemDatabase::Impl::Begin(pqxx::dbtransaction& txn, const std::vector<Setting>& settings_now) {
  const pqxx::row row = txn.exec(BuildTransactionStart(settings_now))[0];
  ServerSeen seen;
  seen.backend_pid = row[0].as<int64_t>();
  if (!row[1].is_null()) seen.address = row[1].as<std::string>();
  if (!row[2].is_null()) seen.port = row[2].as<int64_t>();
  seen.started_us = row[3].as<int64_t>();
  seen.in_recovery = row[4].as<bool>();
  if (BehindPooler(conn->backendpid(), seen)) through_pooler = true;
  if (server && !SameServer(*server, seen)) {
    ++connection_count;
    window.Reset();
    statuses.Reset();
    shape = DetectShape(txn);
    scoped = settings.application.has_value() && shape.has_application_name;
    BuildStatements();
  }
  server = seen;
  return seen;
}

void SystemDatabase::Impl::BuildStatements() {
  report_sql_index_scans = session.index_scans;
  report_sql = BuildReportQuery(shape, scoped, session.index_scans ? InFlightScan::kIndexScans : InFlightScan::kOneScan);
  retire_sql = BuildRetireQuery(shape, scoped);
  probe_sql = BuildHistoryProbeQuery(shape, scoped);
}

// The planner's estimate of the in-flight rows (table statistics, no scan): sizes the first read
// of a connection, before a report has counted them.
int64_t SystemDatabase::Impl::EstimateInFlightRows(pqxx::dbtransaction& txn) {
  auto r = txn.exec("EXPLAIN (FORMAT JSON) SELECT 1 FROM " + QualifiedTable(shape.schema, "workflow_status") +
                    " WHERE (status IN ('ENQUEUED', 'PENDING') OR status = 'DELAYED')");
  const std::string plan = r.empty() ? "" : r[0][0].as<std::string>();
  const std::string key = "\"Plan Rows\": ";
  auto pos = plan.find(key);
  if (pos == std::string::npos) return 0;
  return std::strtoll(plan.c_str() + pos + key.size(), nullptr, 10);
}

SchemaShape SystemDatabase::Impl::DetectShape(pqxx::dbtransaction& txn) {
  SchemaCatalog catalog;
  std::string database;
  for (const auto& row : txn.exec_params(kSchemaShapeQuery, settings.schema)) {
    database = row[2].as<std::string>();
    catalog.Add(row[0].as<std::string>(), Text(row[1]));
  }
  if (database.empty()) database = txn.exec("SELECT current_database()")[0][0].as<std::string>();
  SchemaShape detected = ShapeFromCatalog(catalog, database, settings.schema);
  if (catalog.HasMigrations()) {
    // Informational only; a role that cannot read it still gets a report (a savepoint keeps the
    // transaction usable after the refusal).
    try {
      pqxx::subtransaction migrations(txn, "migrations");
      auto r = migrations.exec("SELECT max(version)::bigint FROM " + QualifiedTable(settings.schema, "dbos_migrations"));
      if (!r.empty() && !r[0][0].is_null()) detected.migration = r[0][0].as<int64_t>();
      migrations.commit();
    } catch (const pqxx::sql_error& e) {
      if (DescribeFailure(e).sqlstate != "42501") throw;
    }
  }
  return detected;
}

Snapshot SystemDatabase::Impl::NewSnapshot() const {
  Snapshot snap;
  snap.shape = shape;
  if (settings.application) {
    if (scoped) {
      snap.application = settings.application;
    } else {
      snap.application_filter_ignored = true;
    }
  }
  return snap;
}

// The retire verdict's inputs: a second statement of the same transaction (same snapshot, same
// now()), after the report query, whose 'n' row gives now() for the window's bounds.
void SystemDatabase::Impl::ReadRetireInputs(ReadTransaction& txn, Snapshot& snap) {
  const int64_t window_ms = settings.quiet_period.count();
  // A standby shows rows as replay reaches them, however old their timestamps: read it all.
  const WindowBounds bounds = window.Plan(snap.as_of_ms, window_ms, snap.standby.in_recovery);
  pqxx::result rows =
      scoped ? txn.exec_params(retire_sql, bounds.lo_ms, bounds.edge_end_ms, bounds.from_ms, *settings.application)
             : txn.exec_params(retire_sql, bounds.lo_ms, bounds.edge_end_ms, bounds.from_ms);
  snap.window_ms = window_ms;
  snap.finishes_known = snap.shape.has_completed_at;
  // Behind a pooler pg_stat_activity shows the pool's server connections, with the name of the
  // client that used each last, connected or not: not the application's sessions.
  snap.through_pooler = through_pooler;
  snap.sessions_visible = !through_pooler;
  std::vector<SecondIntake> intake;
  std::vector<SecondFinish> finished;
  for (const auto& row : rows) {
    const std::string kind = row[0].as<std::string>();
    if (kind == "i") {
      SecondIntake r;
      r.second = row[4].as<int64_t>();
      r.group.version = Text(row[1]);
      r.group.name = row[2].as<std::string>();
      r.group.kind = ParseIntakeKind(row[3].as<std::string>()).value_or(IntakeKind::kOther);
      r.group.count = row[5].as<int64_t>();
      r.group.last_created_at_ms = row[6].as<int64_t>();
      intake.push_back(std::move(r));
    } else if (kind == "f") {
      SecondFinish r;
      r.second = row[4].as<int64_t>();
      r.group.version = Text(row[1]);
      r.group.count = row[5].as<int64_t>();
      r.group.last_completed_at_ms = row[6].as<int64_t>(0);
      finished.push_back(std::move(r));
    } else if (kind == "s") {
      snap.sdk_sessions.push_back(row[2].as<std::string>());
    }
  }
  window.Merge(bounds, snap.as_of_ms, window_ms, intake, finished, snap);
}

void SystemDatabase::Impl::ReadReport(ReadTransaction& txn, Snapshot& snap) {
  if (session.index_scans != report_sql_index_scans) BuildStatements();
  pqxx::result rows = scoped ? txn.exec_params(report_sql, *settings.application) : txn.exec_params(report_sql);
  for (const auto& row : rows) AddReportRow(ToReportRow(row), snap);
}

bool SystemDatabase::Impl::CheckStatuses(ReadTransaction& txn, Snapshot& snap) {
  // Not prepared: it runs seldom in serve, and its plan is a scan whatever the parameters.
  // In a subtransaction, like the history probe: a check that exceeds statement_timeout on a huge
  // table must not cost the report; the versions just are not safe (statuses_unchecked).
  try {
    pqxx::subtransaction check_txn(txn, "status_check");
    // A scan: parallel workers for it alone (the report's own settings, report_session.h, size
    // them for the in-flight backlog). SET LOCAL's effect ends with the savepoint, which is rolled
    // back below (a read has nothing to keep), so the retire statement after it plans as before.
    check_txn.exec(kStatusCheckSettings);
    const std::string sql = BuildStatusCheckQuery(shape, scoped);
    pqxx::result rows = scoped ? check_txn.exec_params(sql, *settings.application) : check_txn.exec(sql);
    check_txn.abort();
    for (const auto& row : rows) AddReportRow(ToReportRow(row), snap);
    return true;
  } catch (const pqxx::sql_error& e) {
    if (DescribeFailure(e).sqlstate != "57014") throw;
    return false;
  }
}

void SystemDatabase::Impl::ProbeHistory(ReadTransaction& txn, Snapshot& snap, const std::vector<std::string>& probe) {
  if (probe.empty()) return;
  const std::string literal = TextArrayLiteral(probe);
  // In a subtransaction: on a huge history without an index on application_version the probe
  // may hit statement_timeout. That must not cost the report (every version's verdict); the
  // asked versions just stay unknown (not drained) until a later probe.
  try {
    pqxx::subtransaction probe_txn(txn, "history_probe");
    pqxx::result found = scoped ? probe_txn.exec_params(probe_sql, literal, *settings.application)
                                : probe_txn.exec_params(probe_sql, literal);
    probe_txn.commit();
    for (const auto& row : found) snap.versions_with_history.insert(row[0].as<std::string>());
    snap.versions_probed.insert(probe.begin(), probe.end());
  } catch (const pqxx::sql_error& e) {
    if (DescribeFailure(e).sqlstate != "57014") throw;
    // Counted as looked up and not found, so the service waits probe_interval before trying
    // again instead of timing out on every refresh.
    snap.history_probe_timed_out = true;
    snap.versions_probed.insert(probe.begin(), probe.end());
  }
}

void SystemDatabase::ReadWith(const char* during, const TransactionReader& read) {
  ReadDeadline deadline(impl_->settings.read_deadline, [this] { Abort(); });
  try {
    if (!impl_->conn) impl_->Connect();
    ReadTransaction txn(*impl_->conn);
    impl_->Begin(txn, TransactionSettings(impl_->settings.query_timeout));
    read(txn, impl_->shape, impl_->connection_count);
    txn.commit();
  } catch (const DrainError& e) {
    if (deadline.fired()) impl_->Overdue(during);
    throw;
  } catch (const std::exception& e) {
    if (deadline.fired()) impl_->Overdue(during);
    impl_->Fail(e, during);
  }
}

}  // namespace dbos_drain
