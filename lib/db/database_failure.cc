#include "database_failure.h"

#include "database_url.h"

namespace dbos_drain {

std::string OneLine(const std::string& message, const std::string& password) {
  std::string s = RedactSecrets(message, password);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& c : s) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return s;
}

DrainError ClassifyFailure(const DatabaseFailure& failure, const FailureContext& context) {
  const std::string while_where =
      " while " + context.during + " (" + context.description + ", schema " + context.schema + ")";
  const std::string said = ": " + OneLine(failure.message, context.password);
  switch (failure.kind) {
    case DatabaseFailure::Kind::kConnection:
      return DrainError(ErrorCode::kDatabaseUnavailable, "cannot reach the DBOS system database" + while_where + said);
    case DatabaseFailure::Kind::kLost:
      return DrainError(ErrorCode::kDatabaseUnavailable, "lost the DBOS system database" + while_where + said);
    case DatabaseFailure::Kind::kOther:
      return DrainError(ErrorCode::kQueryFailed, "unexpected error" + while_where + said);
    case DatabaseFailure::Kind::kSql:
      break;
  }
  const std::string& state = failure.sqlstate;
  if (state == "57014") {
    return DrainError(ErrorCode::kQueryTimeout, "query timed out after " + std::to_string(context.query_timeout.count()) +
                                                    " ms" + while_where + " (a lock or an overloaded database?)");
  }
  if (state == "42501") {
    return DrainError(ErrorCode::kPermissionDenied,
                      "permission denied" + while_where + said +
                          " (grant the role SELECT on the tables in examples/sql/readonly-role.sql)");
  }
  if (state == "42P01" || state == "42703" || state == "3F000") {
    return DrainError(ErrorCode::kSchemaUnrecognized, "the DBOS schema changed or is incomplete" + while_where + said);
  }
  if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0 || state == "53300") {
    return DrainError(ErrorCode::kDatabaseUnavailable, "lost the DBOS system database" + while_where + said);
  }
  return DrainError(ErrorCode::kQueryFailed, "database error" + while_where + said);
}

}  // namespace dbos_drain
