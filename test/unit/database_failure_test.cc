// What a database failure means (lib/db/database_failure.h, pqxx_failure.h): SQLSTATE -> error
// code and message, the libpqxx exception types (constructed here, no connection), the one-line
// password-free message. test/db/errors_test.cc provokes the same failures on a real server.
#include <catch2/catch.hpp>

#include <pqxx/except>

#include "database_failure.h"
#include "drain_error.h"
#include "pqxx_failure.h"

using namespace dbos_drain;
using Kind = DatabaseFailure::Kind;

namespace {

FailureContext Context() {
  FailureContext c;
  c.during = "reading the drain report";
  c.description = "db.example:5432/app as alice";
  c.schema = "dbos";
  c.password = "s3cret";
  c.query_timeout = std::chrono::milliseconds(1500);
  return c;
}

DrainError Sql(const std::string& state, const std::string& message = "ERROR:  boom\n") {
  return ClassifyFailure({Kind::kSql, state, message}, Context());
}

const std::string kWhere = " while reading the drain report (db.example:5432/app as alice, schema dbos)";

}  // namespace

TEST_CASE("failure: SQLSTATE decides the error code", "[failure]") {
  CHECK(Sql("57014").code() == ErrorCode::kQueryTimeout);
  CHECK(Sql("42501").code() == ErrorCode::kPermissionDenied);
  for (const char* s : {"42P01", "42703", "3F000"}) CHECK(Sql(s).code() == ErrorCode::kSchemaUnrecognized);
  for (const char* s : {"08000", "08003", "08006", "08P01", "57P01", "57P02", "57P03", "53300"}) {
    INFO(s);
    CHECK(Sql(s).code() == ErrorCode::kDatabaseUnavailable);
  }
  for (const char* s : {"", "22012", "25006", "40001", "53100", "57000", "0A000", "XX000"}) {
    INFO(s);
    CHECK(Sql(s).code() == ErrorCode::kQueryFailed);
  }
}

TEST_CASE("failure: the messages, exactly", "[failure]") {
  CHECK(std::string(Sql("57014", "ERROR:  canceling statement due to statement timeout\n").what()) ==
        "query timed out after 1500 ms" + kWhere + " (a lock or an overloaded database?)");
  CHECK(std::string(Sql("42501", "ERROR:  permission denied for table workflow_status\n").what()) ==
        "permission denied" + kWhere +
            ": ERROR:  permission denied for table workflow_status"
            " (grant the role SELECT on the tables in examples/sql/readonly-role.sql)");
  CHECK(std::string(Sql("42P01", "ERROR:  relation \"dbos.queues\" does not exist").what()) ==
        "the DBOS schema changed or is incomplete" + kWhere + ": ERROR:  relation \"dbos.queues\" does not exist");
  CHECK(std::string(Sql("57P01", "FATAL:  terminating connection").what()) ==
        "lost the DBOS system database" + kWhere + ": FATAL:  terminating connection");
  CHECK(std::string(Sql("22012", "ERROR:  division by zero").what()) ==
        "database error" + kWhere + ": ERROR:  division by zero");
  DrainError conn = ClassifyFailure({Kind::kConnection, "", "could not connect to server: Connection refused\n"}, Context());
  CHECK(conn.code() == ErrorCode::kDatabaseUnavailable);
  CHECK(std::string(conn.what()) ==
        "cannot reach the DBOS system database" + kWhere + ": could not connect to server: Connection refused");
  DrainError lost = ClassifyFailure({Kind::kLost, "", "Lost connection while committing."}, Context());
  CHECK(lost.code() == ErrorCode::kDatabaseUnavailable);
  CHECK(std::string(lost.what()) == "lost the DBOS system database" + kWhere + ": Lost connection while committing.");
  DrainError other = ClassifyFailure({Kind::kOther, "", "bad_alloc"}, Context());
  CHECK(other.code() == ErrorCode::kQueryFailed);
  CHECK(std::string(other.what()) == "unexpected error" + kWhere + ": bad_alloc");
}

TEST_CASE("failure: one line, never the password", "[failure][redact]") {
  const std::string multi = "FATAL:  password authentication failed for user \"alice\"\n"
                            "DETAIL:\tconnection string had password=s3cret \n\n";
  CHECK(OneLine(multi, "s3cret").find('\n') == std::string::npos);
  CHECK(OneLine(multi, "s3cret").find('\t') == std::string::npos);
  CHECK_THAT(OneLine(multi, "s3cret"), !Catch::Contains("s3cret"));
  CHECK_THAT(OneLine(multi, "s3cret"), Catch::StartsWith("FATAL:  password authentication failed for user \"alice\" DETAIL: "));
  CHECK_THAT(OneLine(multi, "s3cret"), !Catch::EndsWith(" "));
  for (auto kind : {Kind::kConnection, Kind::kSql, Kind::kLost, Kind::kOther}) {
    for (const char* state : {"", "42501", "08006", "XX000"}) {
      DrainError e = ClassifyFailure({kind, state, multi}, Context());
      CHECK_THAT(e.what(), !Catch::Contains("s3cret"));
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("failure: libpqxx exception types", "[failure][pqxx]") {
  SECTION("a connection failure") {
    DatabaseFailure f = DescribeFailure(pqxx::broken_connection("could not connect"));
    CHECK(f.kind == Kind::kConnection);
    CHECK(f.message == "could not connect");
    // libpqxx 6 makes too_many_connections a broken_connection, not an sql_error.
    CHECK(DescribeFailure(pqxx::too_many_connections("FATAL:  too many connections")).kind == Kind::kConnection);
  }
  SECTION("a server error keeps its SQLSTATE") {
    DatabaseFailure f = DescribeFailure(pqxx::sql_error("ERROR:  canceling statement", "SELECT 1", "57014"));
    CHECK(f.kind == Kind::kSql);
    CHECK(f.sqlstate == "57014");
    CHECK(f.message == "ERROR:  canceling statement");
    CHECK(DescribeFailure(pqxx::sql_error("x")).sqlstate.empty());
  }
  SECTION("typed errors libpqxx 6 throws without a SQLSTATE get it from the type") {
    CHECK(DescribeFailure(pqxx::insufficient_privilege("denied")).sqlstate == "42501");
    CHECK(DescribeFailure(pqxx::undefined_table("no table")).sqlstate == "42P01");
    CHECK(DescribeFailure(pqxx::undefined_column("no column")).sqlstate == "42703");
    CHECK(DescribeFailure(pqxx::insufficient_privilege("denied", "q", "42501")).sqlstate == "42501");
  }
  SECTION("in doubt, rolled back, or another libpqxx failure: the connection is lost") {
    CHECK(DescribeFailure(pqxx::in_doubt_error("in doubt")).kind == Kind::kLost);
    CHECK(DescribeFailure(pqxx::serialization_failure("could not serialize")).kind == Kind::kLost);
    CHECK(DescribeFailure(pqxx::failure("protocol")).kind == Kind::kLost);
  }
  SECTION("anything else") {
    DatabaseFailure f = DescribeFailure(std::runtime_error("conversion"));
    CHECK(f.kind == Kind::kOther);
    CHECK(f.message == "conversion");
    CHECK(DescribeFailure(pqxx::conversion_error("null")).kind == Kind::kOther);
  }
  SECTION("end to end: a typed error without SQLSTATE is classified by its type") {
    FailureContext c = Context();
    CHECK(ClassifyFailure(DescribeFailure(pqxx::insufficient_privilege("denied")), c).code() == ErrorCode::kPermissionDenied);
    CHECK(ClassifyFailure(DescribeFailure(pqxx::undefined_table("gone")), c).code() == ErrorCode::kSchemaUnrecognized);
  }
}
