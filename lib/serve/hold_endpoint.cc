// GET /v1/hold?version=V&executor=E[&timeout=S]: a pod's preStop long poll (hold_board.h,
// core/hold_rule.h). 200 {"release": true}: the pod may stop now. 409 {"release": false,
// "bound_passed": true}: the caller's bound passed and the pod is still held (ask again).
// 503: serve is stopping. serve's front listener hands every request to StartHold first, which takes
// a hold without a thread. ServeHold is HandleRequest's answer for the hold route: in serve it only
// ever answers without a board (503 hold_unavailable, via StartHold); with a board it would wait on
// the calling thread up to the bound, which only a direct HandleRequest caller would do.
#include <future>

#include "api.h"
#include "hold_board.h"

namespace dbos_drain {

namespace {

std::chrono::milliseconds BoundOf(const Route& route, const HoldBoard& board) {
  const auto asked = route.bound_s ? std::chrono::milliseconds(*route.bound_s * 1000)
                                   : std::chrono::milliseconds(kDefaultHoldBound);
  return std::min(asked, board.cap());
}

HttpResponse NoBoard() {
  return ErrorResponse(503, "hold_unavailable", "this server does not hold pods (no hold board)");
}

}  // namespace

HttpResponse ServeHold(const ApiContext& ctx, const Route& route) {
  if (!ctx.holds) return NoBoard();
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  auto answer = promise->get_future();
  ctx.holds->Hold({*route.version, *route.executor}, BoundOf(route, *ctx.holds),
                  [promise](HttpResponse r) { promise->set_value(std::move(r)); });
  return answer.get();
}

bool StartHold(const ApiContext& ctx, const HttpRequest& request, std::function<void(HttpResponse)> done) {
  // Every request the front listener parses passes here first: skip the others without routing.
  if (request.target.compare(0, 8, "/v1/hold") != 0) return false;
  const Route route = RouteRequest(request.method, request.target);
  if (route.kind != RouteKind::kHold) return false;
  if (!ctx.holds || (ctx.authorize && !ctx.authorize(request.authorization))) {
    done(HandleRequest(ctx, request));  // 401, or 503 without a board: the usual answer and count
    return true;
  }
  const bool head = request.method == "HEAD";
  ctx.holds->Hold({*route.version, *route.executor}, BoundOf(route, *ctx.holds),
                  [&metrics = ctx.metrics, head, done = std::move(done)](HttpResponse r) {
                    if (head) r.body.clear();
                    metrics.CountRequest(RouteLabel(RouteKind::kHold), r.status);
                    done(std::move(r));
                  });
  return true;
}

}  // namespace dbos_drain
