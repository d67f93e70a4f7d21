// A libpqxx exception as a DatabaseFailure (database_failure.h): the thin, libpqxx-specific half
// of error classification. The header names no libpqxx type, so it stays out of public headers.
//
// Contract:
//  - pqxx::broken_connection (in libpqxx 6 also too_many_connections): kConnection.
//  - pqxx::sql_error: kSql with its SQLSTATE. libpqxx 6 throws some typed errors without one, so
//    for those the SQLSTATE comes from the type: insufficient_privilege 42501, undefined_table
//    42P01, undefined_column 42703; any other sql_error without one: "".
//  - pqxx::in_doubt_error and any other pqxx::failure (e.g. transaction_rollback): kLost.
//  - Anything else: kOther. `message` is e.what() in every case.
#pragma once

#include <exception>

#include "database_failure.h"

namespace dbos_drain {

DatabaseFailure DescribeFailure(const std::exception& e);

}  // namespace dbos_drain
