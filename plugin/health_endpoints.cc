// GET /healthz (the process serves) and GET /readyz (the database answered, schema recognized).
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
