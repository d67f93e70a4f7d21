// POST /v1/flagger/confirm-promotion. (Being written: issue 4.)
#include "api.h"

namespace dbos_drain {

HttpResponse ServeFlaggerConfirmPromotion(const ApiContext&, const HttpRequest&) {
  return ErrorResponse(501, "not_implemented", "the Flagger gate is not implemented yet");
}

}  // namespace dbos_drain
