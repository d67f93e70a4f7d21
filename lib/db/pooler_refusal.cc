#include "pooler_refusal.h"

#include <cctype>

namespace dbos_drain {

std::optional<DrainError> RecognizePoolerRefusal(const DatabaseFailure& failure, const FailureContext& context) {
  const std::string said = OneLine(failure.message, context.password);
  const std::string while_where =
      " while " + context.during + " (" + context.description + ", schema " + context.schema + ")";
  if (said.find("transaction blocks not allowed in statement pooling mode") != std::string::npos) {
    return DrainError(ErrorCode::kConfig,
                      "PgBouncer in statement mode cannot run dbos-drain's read transaction (one consistent "
                      "snapshot needs several statements in one transaction)" +
                          while_where +
                          ": use a pool in transaction or session mode (pool_mode), e.g. another database entry "
                          "or port of the pooler");
  }
  const std::string startup = "unsupported startup parameter: ";
  auto at = said.find(startup);
  if (at != std::string::npos) {
    std::string parameter;
    for (size_t i = at + startup.size(); i < said.size() && !std::isspace(static_cast<unsigned char>(said[i])); ++i) {
      parameter += said[i];
    }
    return DrainError(ErrorCode::kConfig,
                      "the connection pooler refuses the startup parameter " + parameter + while_where +
                          ": remove it from the database URL (settings cannot pass a pooler that way), or add it "
                          "to the pooler's ignore_startup_parameters");
  }
  return std::nullopt;
}

}  // namespace dbos_drain
