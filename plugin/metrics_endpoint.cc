// GET /metrics: Prometheus text exposition. (Being written: issue 5.)
#include "api.h"

namespace dbos_drain {

HttpResponse ServeMetrics(const ApiContext&, const Route&) {
  return ErrorResponse(501, "not_implemented", "metrics are not implemented yet");
}

}  // namespace dbos_drain
