// What a failed database call means for dbos-drain: the SQLSTATE (or the kind of failure when
// there is none) decides the ErrorCode, and the message says what was being done, where, and
// what the server said, on one line, without the password. Pure: no libpqxx here (the libpqxx
// exception is turned into a DatabaseFailure by DescribeFailure, pqxx_failure.h).
//
// Contract (code, message prefix; `W` = " (host:port/db as user, schema S)"):
//  - kConnection:                 kDatabaseUnavailable "cannot reach the DBOS system database while D W: M"
//  - kSql 57014 (query canceled): kQueryTimeout "query timed out after N ms while D W (a lock or an
//                                 overloaded database?)" (no server text: it only says "canceling")
//  - kSql 42501:                  kPermissionDenied "permission denied while D W: M (grant the role
//                                 SELECT on the tables in examples/sql/readonly-role.sql)"
//  - kSql 42P01, 42703, 3F000:    kSchemaUnrecognized "the DBOS schema changed or is incomplete while D W: M"
//  - kSql 08*, 57P*, 53300:       kDatabaseUnavailable "lost the DBOS system database while D W: M"
//  - kSql anything else:          kQueryFailed "database error while D W: M"
//  - kLost:                       kDatabaseUnavailable "lost the DBOS system database while D W: M"
//  - kOther:                      kQueryFailed "unexpected error while D W: M"
// where D is `during`, N the query timeout in ms and M the message made one line (OneLine).
#pragma once

#include <chrono>
#include <string>

#include "drain_error.h"

namespace dbos_drain {

struct DatabaseFailure {
  enum class Kind {
    kConnection,  // the connection could not be made or broke
    kSql,         // the server answered with an error; `sqlstate` says which ("" when unknown)
    kLost,        // the connection became unusable mid-call (outcome in doubt, protocol failure)
    kOther,       // anything else (not a database error)
  };
  Kind kind = Kind::kOther;
  std::string sqlstate;
  std::string message;  // as the library said it (may span lines, may contain the password)
};

// Where the failure happened, for the message.
struct FailureContext {
  std::string during;       // "connecting", "reading the drain report", ...
  std::string description;  // "host:port/db as user" (ConnectionTarget::description)
  std::string schema;
  std::string password;     // scrubbed from the message ("" when none)
  std::chrono::milliseconds query_timeout{0};
};

// The DrainError for `failure`, as the contract above says.
DrainError ClassifyFailure(const DatabaseFailure& failure, const FailureContext& context);

// `message` without `password` (RedactSecrets), trailing newlines and spaces, and with newlines
// and tabs made spaces: libpq messages span lines ("FATAL: ...\nDETAIL: ..."); logs want one.
std::string OneLine(const std::string& message, const std::string& password);

}  // namespace dbos_drain
