// The one error type the library throws: a stable machine-readable code (served in HTTP error
// bodies and metrics) and a message a person understands. Messages never contain a password.
#pragma once

#include <stdexcept>
#include <string>

namespace dbos_drain {

enum class ErrorCode {
  kConfig,               // bad flag, bad URL: the user must fix the invocation
  kDatabaseUnavailable,  // cannot connect, connection lost, authentication failed
  kQueryTimeout,         // statement_timeout or our own watchdog cancelled the read
  kPermissionDenied,     // the role may not read a table it needs
  kSchemaNotFound,       // no workflow_status in the given schema
  kSchemaUnrecognized,   // workflow_status exists but lacks columns dbos-drain needs
  kQueryFailed,          // any other database error
};

// "database_unavailable", "query_timeout", ...
const char* ErrorCodeName(ErrorCode code);

class DrainError : public std::runtime_error {
 public:
  DrainError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace dbos_drain
