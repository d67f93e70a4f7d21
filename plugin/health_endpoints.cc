// GET /healthz (the process serves) and GET /readyz (the database answered, schema recognized).
//
// Readiness latches: once the database has answered, a later outage keeps the pod ready. Every
// replica shares the one database, so failing readiness would empty the Service and turn
// dbos-drain's clear 503 answers ("database_unavailable: ...") into bare connection errors for
// Argo, Flagger and KEDA, with the same verdict (not drained) and less to go on.
#include "api.h"

namespace dbos_drain {

HttpResponse ServeHealth(const ApiContext&, const Route&) {
  HttpResponse r;
  r.body = "{\"status\":\"ok\"}";
  return r;
}

HttpResponse ServeReady(const ApiContext& ctx, const Route&) {
  auto result = ctx.cache.Get();
  if (!result.report) {
    HttpResponse r = DatabaseErrorResponse(*result.error);
    if (!ctx.cache.ever_succeeded()) return r;
    r.status = 200;
    r.headers.clear();
    r.body = DumpJson(nlohmann::json{{"status", "ready"},
                                     {"database", "unreadable"},
                                     {"error", {{"code", ErrorCodeName(result.error->code())}, {"message", result.error->what()}}}});
    return r;
  }
  const auto& shape = result.report->report.shape;
  HttpResponse r;
  r.body = DumpJson(nlohmann::json{{"status", "ready"},
                                   {"database", shape.database},
                                   {"schema", shape.schema},
                                   {"as_of", FormatTimestamp(result.report->report.as_of_ms)}});
  return r;
}

}  // namespace dbos_drain
