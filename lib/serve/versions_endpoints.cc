// GET /v1/versions (the report in its default listing; ?all=true: every version) and
// GET /v1/versions/{version} (one verdict, for any version, listed or not).
// A version answer is 200 whenever the database answered, drained or not: Argo Rollouts' web
// provider counts every non-2xx as a measurement error and aborts after a few in a row.
#include "api.h"

namespace dbos_drain {

HttpResponse ServeVersions(const ApiContext& ctx, const Route& route) {
  auto result = ctx.cache.Get();
  if (!result.report) return DatabaseErrorResponse(*result.error);
  HttpResponse r;
  r.body = WithAge(route.all ? result.report->AllVersionsJson() : result.report->report_json, *result.report);
  return r;
}

HttpResponse ServeVersion(const ApiContext& ctx, const Route& route) {
  auto result = ctx.cache.Get(route.name);
  if (!result.report) return DatabaseErrorResponse(*result.error);
  const CachedReport& cached = *result.report;
  HttpResponse r;
  auto it = cached.version_json.find(route.name);
  if (it != cached.version_json.end()) {
    r.body = WithAge(it->second, cached);
    return r;
  }
  // Not in the report: an unknown version (not drained unless --unknown-version=drained).
  auto doc = VersionToJson(FindVersion(cached.report, route.name, ctx.policy), cached.report.as_of_ms);
  doc["as_of"] = FormatTimestamp(cached.report.as_of_ms);
  r.body = WithAge(DumpJson(doc), cached);
  return r;
}

}  // namespace dbos_drain
