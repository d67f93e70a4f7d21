#include "transaction_scope.h"

namespace dbos_drain {

std::vector<Setting> TransactionSettings(std::chrono::milliseconds query_timeout,
                                         const std::optional<ReportSession>& report) {
  std::vector<Setting> out;
  out.emplace_back("statement_timeout", std::to_string(query_timeout.count()));
  // A transaction left open (dbos-drain stopped between statements) ends on the server.
  out.emplace_back("idle_in_transaction_session_timeout", std::to_string(query_timeout.count() * 2));
  // At 1M in flight the report's cost passes jit_above_cost, and compiling its expressions took
  // ~90 ms of a run dominated by reading rows (bench/, EXPLAIN ANALYZE).
  out.emplace_back("jit", "off");
  if (report) {
    for (auto& s : ReportSessionSettings(*report)) out.push_back(std::move(s));
  }
  return out;
}

std::string BuildTransactionStart(const std::vector<Setting>& settings) {
  // One simple-query message: one round trip, and each SET LOCAL its own statement (so
  // pg_stat_statements shows each value, which the db tests count).
  std::string sql;
  for (const auto& [name, value] : settings) sql += "SET LOCAL " + name + " = '" + value + "'; ";
  sql +=
      "SELECT pg_backend_pid(), inet_server_addr()::text, inet_server_port(), "
      "(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint, pg_is_in_recovery()";
  return sql;
}

bool SameServer(const ServerSeen& a, const ServerSeen& b) {
  return a.address == b.address && a.port == b.port && a.started_us == b.started_us;
}

bool BehindPooler(int64_t libpq_backend_pid, const ServerSeen& seen) {
  return libpq_backend_pid != seen.backend_pid;
}

}  // namespace dbos_drain
