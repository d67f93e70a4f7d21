#include "system_database.h"

#include <sys/socket.h>

#include <pqxx/pqxx>

#include <cstdlib>
#include <mutex>

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
  uint64_t connection_count = 0;  // connections made so far (ReadWith's `connection`)
  std::optional<ReportSession> session;  // what the prepared report query was planned with
  WindowLedger window;  // the quiet period's rows of earlier reads on this connection (window_ledger.h)
  StatusLedger statuses;  // the last status check on this connection (status_ledger.h)

  Impl(ConnectionSettings s)
      : settings(std::move(s)), target(ParseConnectionTarget(settings.url, settings.connect_timeout)) {}

  void Connect();
  SchemaShape DetectShape();
  // Applies the report session settings for a backlog of `in_flight_rows` (report_session.h) and
  // (re)prepares the report query when they changed: a prepared plan does not see a later SET.
  void SizeSession(int64_t in_flight_rows);
  int64_t EstimateInFlightRows();
  [[noreturn]] void Fail(const std::exception& e, const char* during);

  // The steps of one Read(), all in the snapshot's one transaction. Another statement for the
  // snapshot is one more step, called from Read().
  Snapshot NewSnapshot() const;
  void ReadReport(ReadTransaction& txn, Snapshot& snap);
  void ReadRetireInputs(ReadTransaction& txn, Snapshot& snap);  // retire_query.h
  bool CheckStatuses(ReadTransaction& txn, Snapshot& snap);     // false: timed out
  void ProbeHistory(ReadTransaction& txn, Snapshot& snap, const std::vector<std::string>& probe);
};

SystemDatabase::SystemDatabase(ConnectionSettings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {}

SystemDatabase::~SystemDatabase() = default;

const std::string& SystemDatabase::description() const { return impl_->target.description; }
const ConnectionSettings& SystemDatabase::settings() const { return impl_->settings; }

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
  if (impl_->conn) {
    int fd = impl_->conn->sock();
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
}

namespace {

// Issue 15: primary or standby, and a standby's replay position (standby_query.h). Its own
// statement, before the snapshot's transaction: what it sees replayed is already in the snapshot.
StandbyObservation ReadStandbyObservation(pqxx::connection& conn) {
  pqxx::nontransaction txn(conn);
  const pqxx::row row = txn.exec(kStandbyQuery)[0];
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

}  // namespace

Snapshot SystemDatabase::Read(const std::vector<std::string>& probe_versions) {
  if (!impl_->conn) impl_->Connect();
  try {
    Snapshot snap = impl_->NewSnapshot();
    snap.standby = ReadStandbyObservation(*impl_->conn);
    ReadTransaction txn(*impl_->conn);
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
    impl_->SizeSession(in_flight_rows);  // for the next read
    return snap;
  } catch (const std::exception& e) {
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
  throw ClassifyFailure(DescribeFailure(e), context);
}

void SystemDatabase::Impl::Connect() {
  const char* during = "connecting";
  try {
    auto fresh = std::make_unique<pqxx::connection>(target.conninfo);
    during = "configuring the session";
    {
      pqxx::nontransaction setup(*fresh);
      setup.exec("SET statement_timeout = " + std::to_string(settings.query_timeout.count()));
      setup.exec("SET default_transaction_read_only = on");
      // Parallel workers, work_mem: sized to the backlog per read (SizeSession, report_session.h).
      // JIT off: at 1M in flight the report's cost passes jit_above_cost, and compiling its
      // expressions took ~90 ms of a run dominated by reading rows (bench/, EXPLAIN ANALYZE).
      setup.exec("SET jit = off");
      setup.exec("SET idle_in_transaction_session_timeout = " + std::to_string(settings.query_timeout.count() * 2));
    }
    {
      std::lock_guard<std::mutex> lock(cancel_mutex);
      conn = std::move(fresh);
    }
    ++connection_count;
    window.Reset();  // another server, perhaps: read the whole window afresh
    statuses.Reset();  // and check the statuses afresh
    during = "reading the schema";
    shape = DetectShape();
    scoped = settings.application.has_value() && shape.has_application_name;
    during = "preparing the report query";
    session.reset();
    SizeSession(EstimateInFlightRows());
    conn->prepare("dbos_drain_probe", BuildHistoryProbeQuery(shape, scoped));
    conn->prepare("dbos_drain_retire", BuildRetireQuery(shape, scoped));
  } catch (const std::exception& e) {
    Fail(e, during);
  }
}

// The planner's estimate of the in-flight rows (table statistics, no scan): sizes the first read
// of a connection, before a report has counted them.
int64_t SystemDatabase::Impl::EstimateInFlightRows() {
  pqxx::read_transaction txn(*conn);
  auto r = txn.exec("EXPLAIN (FORMAT JSON) SELECT 1 FROM " + QualifiedTable(shape.schema, "workflow_status") +
                    " WHERE (status IN ('ENQUEUED', 'PENDING') OR status = 'DELAYED')");
  txn.commit();
  const std::string plan = r.empty() ? "" : r[0][0].as<std::string>();
  const std::string key = "\"Plan Rows\": ";
  auto pos = plan.find(key);
  if (pos == std::string::npos) return 0;
  return std::strtoll(plan.c_str() + pos + key.size(), nullptr, 10);
}

void SystemDatabase::Impl::SizeSession(int64_t in_flight_rows) {
  ReportSession want = SizeReportSession(in_flight_rows);
  if (session && *session == want) return;
  {
    pqxx::nontransaction setup(*conn);
    for (const auto& statement : ReportSessionStatements(want)) setup.exec(statement);
  }
  if (session) conn->unprepare("dbos_drain_report");
  conn->prepare("dbos_drain_report",
                BuildReportQuery(shape, scoped, want.index_scans ? InFlightScan::kIndexScans : InFlightScan::kOneScan));
  session = want;
}

SchemaShape SystemDatabase::Impl::DetectShape() {
  SchemaCatalog catalog;
  std::string database;
  {
    pqxx::read_transaction txn(*conn);
    for (const auto& row : txn.exec_params(kSchemaShapeQuery, settings.schema)) {
      database = row[2].as<std::string>();
      catalog.Add(row[0].as<std::string>(), Text(row[1]));
    }
    if (database.empty()) database = txn.exec("SELECT current_database()")[0][0].as<std::string>();
    txn.commit();
  }
  SchemaShape detected = ShapeFromCatalog(catalog, database, settings.schema);
  if (catalog.HasMigrations()) {
    // Informational only; a role that cannot read it still gets a report.
    try {
      pqxx::read_transaction txn(*conn);
      auto r = txn.exec("SELECT max(version)::bigint FROM " + QualifiedTable(settings.schema, "dbos_migrations"));
      if (!r.empty() && !r[0][0].is_null()) detected.migration = r[0][0].as<int64_t>();
      txn.commit();
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
      scoped ? txn.exec_prepared("dbos_drain_retire", bounds.lo_ms, bounds.edge_end_ms, bounds.from_ms, *settings.application)
             : txn.exec_prepared("dbos_drain_retire", bounds.lo_ms, bounds.edge_end_ms, bounds.from_ms);
  snap.window_ms = window_ms;
  snap.finishes_known = snap.shape.has_completed_at;
  snap.sessions_visible = true;
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
  pqxx::result rows = scoped ? txn.exec_prepared("dbos_drain_report", *settings.application)
                             : txn.exec_prepared("dbos_drain_report");
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
    pqxx::result found = scoped ? probe_txn.exec_prepared("dbos_drain_probe", literal, *settings.application)
                                : probe_txn.exec_prepared("dbos_drain_probe", literal);
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
  if (!impl_->conn) impl_->Connect();
  try {
    ReadTransaction txn(*impl_->conn);
    read(txn, impl_->shape, impl_->connection_count);
    txn.commit();
  } catch (const std::exception& e) {
    impl_->Fail(e, during);
  }
}

}  // namespace dbos_drain
