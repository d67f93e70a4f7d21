// GET /v1/retire?keep=V[,V...]: may every version but these be deleted now (core/fleet_retire.h)?
// 200 whenever the database answered, safe or not (as /v1/versions/{v}: Argo's web provider
// counts every non-2xx as a measurement error); 503 with the error shape when it could not.
#include "api.h"
#include "fleet_retire.h"
#include "set_verdict_json.h"

namespace dbos_drain {

HttpResponse ServeRetire(const ApiContext& ctx, const Route& route) {
  auto result = ctx.cache.Get();
  if (!result.report) return DatabaseErrorResponse(*result.error);
  const CachedReport& cached = *result.report;
  HttpResponse r;
  r.body = WithAge(DumpJson(SetVerdictToJson(JudgeAllBut(cached.report, route.keep), cached.report)), cached);
  return r;
}

}  // namespace dbos_drain
