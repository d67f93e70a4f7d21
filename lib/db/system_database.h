// Reading a DBOS system database: one connection, the schema shape detected once per
// connection, one consistent read-only snapshot per Read(). Thin: it turns rows into a
// Snapshot and database failures into DrainError; all judgement is in drain_policy.
//
// Contract:
//  - Every read runs in a READ ONLY, REPEATABLE READ transaction (the schema detection in a READ
//    ONLY one) whose first statement sets statement_timeout and the rest for that transaction
//    only (transaction_scope.h). Nothing is ever written, and nothing is left on the session: no
//    SET, no named prepared statement, no temp object, so it works through a pooler in
//    transaction mode (PgBouncer, ...) and leaves the pool's server connections as it found them.
//  - After any failure the connection is dropped; the next Read() reconnects and re-detects the
//    schema (a table dropped or a database restored is seen afresh). A transaction that runs on
//    another server than the previous one (behind a pooler) is treated the same way, without
//    reconnecting: schema re-detected, window ledger emptied, `connection` bumped.
//  - through_pooler(): some transaction ran on a backend other than the one libpq was told of at
//    connection (a pooler answered the startup); the application's sessions are then not
//    reported (a pool's server connections show its clients' names only while in use, and
//    keep the last one's after): Snapshot::sessions_visible false.
//  - A pooler's refusal (statement mode, an unknown startup parameter) is DrainError(kConfig)
//    saying what to change (pooler_refusal.h).
//  - Errors never contain the password of the URL.
//  - The status check (SUSPENDED and unknown statuses, a scan of workflow_status) runs in the
//    same snapshot when core/status_ledger.h says it is due; a read that skips it carries the
//    last check's rows. A check that times out costs only itself (statuses_unchecked).
//  - Not thread-safe, except Cancel() and Abort(), which may be called from another thread.
//
// The decisions are pure functions with unit tests: the schema shape from the catalog
// (schema_catalog.h), what each report row means (report_rows.h), the history probe's text[]
// parameter (text_array.h), what a failure means (database_failure.h; libpqxx's exception types
// in pqxx_failure.h). This class only runs the statements; libpqxx stays in its .cc (pimpl).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class dbtransaction;
}

#include "database_url.h"
#include "model.h"

namespace dbos_drain {

struct ConnectionSettings {
  std::string url;
  std::string schema = "dbos";
  std::optional<std::string> application;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds query_timeout{5000};
  // The window of the retire verdict's second statement (recent starts and finishes): --quiet-period.
  std::chrono::milliseconds quiet_period{120000};
  // When set, a Read() or ReadWith() still running after this long is aborted (Abort) and throws
  // DrainError(kQueryTimeout): what statement_timeout cannot bound, such as waiting in a pooler's
  // queue for a server connection of a busy pool, or a frozen server. The commands set it
  // (cli_options.cc); `serve` has its own watchdog (report_cache.h).
  std::optional<std::chrono::milliseconds> read_deadline;
  // How often a read checks for SUSPENDED rows and unknown statuses at the latest, besides when a
  // version's in-flight rows leave (core/status_ledger.h). 0: every read (status, wait).
  std::chrono::milliseconds status_check_interval{0};
};

class SystemDatabase {
 public:
  // Throws DrainError(kConfig) when the URL cannot be parsed.
  explicit SystemDatabase(ConnectionSettings settings);
  ~SystemDatabase();
  SystemDatabase(const SystemDatabase&) = delete;
  SystemDatabase& operator=(const SystemDatabase&) = delete;

  // Reads one snapshot. `probe_versions`: versions to look up in workflow history when the
  // cheap report does not already show them (see BuildHistoryProbeQuery). Throws DrainError.
  Snapshot Read(const std::vector<std::string>& probe_versions = {});

  // For readers of other tables that keep their SQL and row handling in their own file
  // (lib/db/patch_reader.h): runs `read` in one READ ONLY, REPEATABLE READ transaction on this
  // connection (connecting first), with the same session settings, and turns any failure into
  // a DrainError as Read() does (`during` names the read in messages). `connection` changes
  // whenever the connection was made anew (state derived from the database may be stale then).
  using TransactionReader =
      std::function<void(pqxx::dbtransaction& txn, const SchemaShape& shape, uint64_t connection)>;
  void ReadWith(const char* during, const TransactionReader& read);

  // Cancels a Read() in progress (from another thread); that Read() throws kQueryTimeout.
  void Cancel();

  // Shuts the connection's socket down (from another thread): unblocks a Read() stuck on a
  // server that no longer answers at all (frozen process, dead network), where even
  // statement_timeout cannot fire. That Read() throws kDatabaseUnavailable.
  void Abort();

  // "host:port/dbname as user": where this reads from, for logs. Never has the password.
  const std::string& description() const;
  const ConnectionSettings& settings() const;
  // A pooler answered the connection (see the contract above); false before the first read.
  bool through_pooler() const;

 private:
  struct Impl;  // the connection and the statements (system_database.cc)
  std::unique_ptr<Impl> impl_;
};

}  // namespace dbos_drain
