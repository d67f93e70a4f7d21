// GET /v1/patches: the patch report (docs/concepts.md, "Versions and patching"), the document `dbos-drain patches
// --json` prints, plus age_seconds. 200 whenever the database answered, safe or not (like the
// version routes); 503 with the error body when the patch report cannot be read (database
// unreadable, or a schema without the operation_outputs columns patching needs:
// schema_unrecognized).
#include <cstdio>

#include "api.h"
#include "patch_cache.h"

namespace dbos_drain {

HttpResponse ServePatches(const ApiContext& ctx, const Route&) {
  if (!ctx.patches) return ErrorResponse(404, "not_found", "the patch report is not enabled in this process");
  auto result = ctx.patches->Get();
  if (!result.report) return DatabaseErrorResponse(*result.error);
  const double age = std::chrono::duration<double>(std::chrono::steady_clock::now() - result.report->fetched_at).count();
  char buf[48];
  std::snprintf(buf, sizeof buf, ",\"age_seconds\":%.3f}", age);
  HttpResponse r;
  r.body = result.report->json;
  r.body.pop_back();  // the closing '}'
  r.body += buf;
  return r;
}

}  // namespace dbos_drain
