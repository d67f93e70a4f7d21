// Everything dbos-drain sets on the server lives and dies with one transaction, and each
// transaction says which server and server connection it ran on (issue 20). Pure: the statement
// text and the rules over its answer; SystemDatabase runs it first in every transaction.
//
// Why: behind a pooler in transaction mode (PgBouncer, Supavisor, RDS Proxy, Neon's pooler) each
// transaction of one client connection may run on another server connection, one the pool then
// hands to its next client. A session-level SET would not follow dbos-drain and would stay behind
// for that other client (an application's own transactions with our statement_timeout and
// planner settings); a named prepared statement would be missing, or already exist, on the next
// one. So every setting is SET LOCAL in each transaction, every
// statement is sent unnamed with its parameters, and nothing else (temp objects, advisory locks)
// is ever made. The same holds through no pooler at all, so there is one code path.
//
// Contract:
//  - TransactionSettings: statement_timeout = the query timeout (ms),
//    idle_in_transaction_session_timeout = twice that, jit off; and, for the report's
//    transaction, the report session's (report_session.h), after them.
//  - BuildTransactionStart: one query string (one round trip): SET LOCAL name = 'value'; per
//    setting, then a SELECT of five columns that say where it runs: pg_backend_pid(),
//    inet_server_addr()::text, inet_server_port(), pg_postmaster_start_time() in microseconds
//    since the epoch, pg_is_in_recovery(). Values are the program's own (numbers, on/off), never
//    input.
//  - SameServer: the same address, port and postmaster start: a server restarted, restored, or
//    another server behind the same pooler address is another server (what was read from the
//    previous one, e.g. the window ledger, is then read afresh).
//  - BehindPooler: the backend pid libpq was given at connection (BackendKeyData) is not the pid
//    of the backend that runs the transaction. A pooler answers the startup itself with a key of
//    its own (PgBouncer: random), so its clients see another pid; a direct connection (or a plain
//    TCP proxy, which hides nothing) always sees its own backend's.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "report_session.h"

namespace dbos_drain {

using Setting = std::pair<std::string, std::string>;  // (GUC name, value)

std::vector<Setting> TransactionSettings(std::chrono::milliseconds query_timeout,
                                         const std::optional<ReportSession>& report = std::nullopt);

std::string BuildTransactionStart(const std::vector<Setting>& settings);

// The first five columns of BuildTransactionStart's row.
struct ServerSeen {
  int64_t backend_pid = 0;
  std::optional<std::string> address;  // null over a Unix socket
  std::optional<int64_t> port;         // null over a Unix socket
  int64_t started_us = 0;              // pg_postmaster_start_time()
  bool in_recovery = false;
};

bool SameServer(const ServerSeen& a, const ServerSeen& b);

bool BehindPooler(int64_t libpq_backend_pid, const ServerSeen& seen);

}  // namespace dbos_drain
