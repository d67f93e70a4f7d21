// What dbos-drain sets, scoped to each transaction, and what it learns there about the server and
// a pooler in between (lib/db/transaction_scope.h); what a pooler's refusal means
// (lib/db/pooler_refusal.h). test/pooler/pgbouncer_test.cc runs both through a real PgBouncer.
#include <catch2/catch.hpp>

#include "pooler_refusal.h"
#include "transaction_scope.h"

using namespace dbos_drain;

namespace {
size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("every transaction sets its timeout, idle timeout and jit for itself only", "[pooler][session]") {
  auto settings = TransactionSettings(std::chrono::milliseconds(1500));
  REQUIRE(settings.size() == 3);
  CHECK(settings[0] == Setting{"statement_timeout", "1500"});
  CHECK(settings[1] == Setting{"idle_in_transaction_session_timeout", "3000"});
  CHECK(settings[2] == Setting{"jit", "off"});
  const std::string sql = BuildTransactionStart(settings);
  CHECK(sql.rfind("SET LOCAL statement_timeout = '1500'; SET LOCAL idle_in_transaction_session_timeout = '3000'; "
                  "SET LOCAL jit = 'off'; SELECT pg_backend_pid(), inet_server_addr()::text, inet_server_port(), ",
                  0) == 0);
  CHECK(Count(sql, "SET ") == 3);
  CHECK(Count(sql, "SET LOCAL ") == 3);  // gone at the transaction's end
}

TEST_CASE("the report's transaction adds the report session's settings after the common ones", "[pooler][session]") {
  auto settings = TransactionSettings(std::chrono::milliseconds(5000), SizeReportSession(1000000));
  REQUIRE(settings.size() == 7);
  CHECK(settings[3] == Setting{"work_mem", "65536kB"});
  CHECK(settings[6] == Setting{"enable_bitmapscan", "on"});
  const std::string sql = BuildTransactionStart(settings);
  CHECK(Count(sql, "SET ") == 7);
  CHECK(Count(sql, "SET LOCAL ") == 7);
  CHECK(sql.find("SET LOCAL work_mem = '65536kB'; ") != std::string::npos);
}

TEST_CASE("a server is its address, port and start time", "[pooler]") {
  ServerSeen a;
  a.backend_pid = 100;
  a.address = "10.0.0.5";
  a.port = 5432;
  a.started_us = 1700000000000000;
  ServerSeen other_backend = a;
  other_backend.backend_pid = 200;  // another server connection of the same server: same data
  CHECK(SameServer(a, other_backend));
  ServerSeen restarted = a;
  restarted.started_us += 1;
  CHECK_FALSE(SameServer(a, restarted));
  ServerSeen replica = a;
  replica.address = "10.0.0.6";
  CHECK_FALSE(SameServer(a, replica));
  ServerSeen socket = a;
  socket.address.reset();
  socket.port.reset();
  CHECK_FALSE(SameServer(a, socket));
}

TEST_CASE("a pooler shows in a backend pid other than the one libpq was given", "[pooler]") {
  ServerSeen seen;
  seen.backend_pid = 4242;
  CHECK_FALSE(BehindPooler(4242, seen));
  CHECK(BehindPooler(-1730498873, seen));  // PgBouncer's random cancel key
}

namespace {
FailureContext Context() {
  FailureContext c;
  c.during = "connecting";
  c.description = "pooler.example:6432/app as alice";
  c.schema = "dbos";
  c.password = "s3cret";
  return c;
}
DatabaseFailure Failure(DatabaseFailure::Kind kind, std::string message) {
  DatabaseFailure f;
  f.kind = kind;
  f.message = std::move(message);
  return f;
}
}  // namespace

TEST_CASE("PgBouncer in statement mode is a configuration error naming the mode to use", "[pooler][errors]") {
  auto e = RecognizePoolerRefusal(
      Failure(DatabaseFailure::Kind::kLost,
              "FATAL:  transaction blocks not allowed in statement pooling mode\nserver closed the connection unexpectedly\n"),
      Context());
  REQUIRE(e);
  CHECK(e->code() == ErrorCode::kConfig);
  const std::string m = e->what();
  CHECK(m.rfind("PgBouncer in statement mode cannot run dbos-drain's read transaction", 0) == 0);
  CHECK(m.find("use a pool in transaction or session mode (pool_mode)") != std::string::npos);
  CHECK(m.find("pooler.example:6432/app as alice") != std::string::npos);
}

TEST_CASE("a startup parameter the pooler refuses is named, with what to change", "[pooler][errors]") {
  auto e = RecognizePoolerRefusal(
      Failure(DatabaseFailure::Kind::kConnection,
              "connection to server at \"127.0.0.1\", port 6432 failed: FATAL:  unsupported startup parameter: options\n"),
      Context());
  REQUIRE(e);
  CHECK(e->code() == ErrorCode::kConfig);
  const std::string m = e->what();
  CHECK(m.rfind("the connection pooler refuses the startup parameter options while connecting", 0) == 0);
  CHECK(m.find("ignore_startup_parameters") != std::string::npos);
  CHECK(m.find("s3cret") == std::string::npos);
}

TEST_CASE("other failures are left to the generic classification", "[pooler][errors]") {
  CHECK_FALSE(RecognizePoolerRefusal(Failure(DatabaseFailure::Kind::kSql, "ERROR:  canceling statement due to statement timeout"),
                                     Context()));
  CHECK_FALSE(RecognizePoolerRefusal(Failure(DatabaseFailure::Kind::kConnection, "connection refused"), Context()));
}
