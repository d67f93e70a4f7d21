#include "drain_error.h"

namespace dbos_drain {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kConfig: return "config_error";
    case ErrorCode::kDatabaseUnavailable: return "database_unavailable";
    case ErrorCode::kQueryTimeout: return "query_timeout";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kSchemaNotFound: return "schema_not_found";
    case ErrorCode::kSchemaUnrecognized: return "schema_unrecognized";
    case ErrorCode::kQueryFailed: return "query_failed";
  }
  return "unknown";
}

}  // namespace dbos_drain
