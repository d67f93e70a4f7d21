// Dispatch, authentication and the error shapes shared by all endpoints.
#include <cstdio>

#include "api.h"

namespace dbos_drain {

const char* RouteLabel(RouteKind kind) {
  switch (kind) {
    case RouteKind::kHealthz: return "/healthz";
    case RouteKind::kReadyz: return "/readyz";
    case RouteKind::kMetrics: return "/metrics";
    case RouteKind::kVersions: return "/v1/versions";
    case RouteKind::kVersion: return "/v1/versions/{version}";
    case RouteKind::kQueue: return "/v1/queues/{queue}";
    case RouteKind::kFlaggerConfirmPromotion: return "/v1/flagger/confirm-promotion";
    case RouteKind::kPatches: return "/v1/patches";
    case RouteKind::kRetire: return "/v1/retire";
    case RouteKind::kHold: return "/v1/hold";
    case RouteKind::kNotFound: return "unmatched";
    case RouteKind::kMethodNotAllowed: return "method_not_allowed";
    case RouteKind::kBadRequest: return "bad_request";
  }
  return "unmatched";
}

HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = DumpJson(nlohmann::json{{"drained", false}, {"error", {{"code", code}, {"message", message}}}});
  return r;
}

HttpResponse DatabaseErrorResponse(const DrainError& error) {
  HttpResponse r = ErrorResponse(503, ErrorCodeName(error.code()), error.what());
  r.headers.push_back({"Retry-After", "1"});
  return r;
}

std::string WithAge(const std::string& json_object, const CachedReport& report) {
  const double age = report.AgeSeconds();
  char buf[48];
  std::snprintf(buf, sizeof buf, ",\"age_seconds\":%.3f}", age);
  std::string out = json_object;
  out.pop_back();  // the closing '}'
  out += buf;
  return out;
}

namespace {

// Routes a person or a script may read with a bearer token. Probes (healthz/readyz) stay open
// for the kubelet, and Flagger cannot send headers (see docs/operations/security.md).
bool Protected(RouteKind kind) {
  return kind == RouteKind::kVersions || kind == RouteKind::kVersion || kind == RouteKind::kQueue ||
         kind == RouteKind::kMetrics || kind == RouteKind::kPatches || kind == RouteKind::kRetire ||
         kind == RouteKind::kHold;
}

HttpResponse Dispatch(const ApiContext& ctx, const HttpRequest& request, const Route& route) {
  switch (route.kind) {
    case RouteKind::kHealthz: return ServeHealth(ctx, route);
    case RouteKind::kReadyz: return ServeReady(ctx, route);
    case RouteKind::kMetrics: return ServeMetrics(ctx, route);
    case RouteKind::kVersions: return ServeVersions(ctx, route);
    case RouteKind::kVersion: return ServeVersion(ctx, route);
    case RouteKind::kQueue: return ServeQueue(ctx, route);
    case RouteKind::kFlaggerConfirmPromotion: return ServeFlaggerConfirmPromotion(ctx, request);
    case RouteKind::kPatches: return ServePatches(ctx, route);
    case RouteKind::kRetire: return ServeRetire(ctx, route);
    case RouteKind::kHold: return ServeHold(ctx, route);
    case RouteKind::kBadRequest: return ErrorResponse(400, "bad_request", route.error);
    case RouteKind::kMethodNotAllowed: {
      HttpResponse r = ErrorResponse(405, "method_not_allowed",
                                     "method " + request.method + " is not allowed here; allowed: " + route.allow);
      r.headers.push_back({"Allow", route.allow});
      return r;
    }
    case RouteKind::kNotFound:
      break;
  }
  return ErrorResponse(404, "not_found",
                       "no such route; see GET /v1/versions, /v1/versions/{version}, /v1/queues/{queue}, /v1/patches, /v1/retire, /v1/hold, /metrics, "
                       "/healthz, /readyz, POST /v1/flagger/confirm-promotion");
}

}  // namespace

HttpResponse HandleRequest(const ApiContext& ctx, const HttpRequest& request) {
  Route route = RouteRequest(request.method, request.target);
  HttpResponse response;
  try {
    if (ctx.authorize && Protected(route.kind) && !ctx.authorize(request.authorization)) {
      response = ErrorResponse(401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer <token>)");
      response.headers.push_back({"WWW-Authenticate", "Bearer realm=\"dbos-drain\""});
    } else {
      response = Dispatch(ctx, request, route);
    }
  } catch (const std::exception& e) {
    ctx.log.Error("request failed", {{"route", RouteLabel(route.kind)}, {"error", e.what()}});
    response = ErrorResponse(500, "internal_error", "internal error; see the service log");
  }
  if (request.method == "HEAD") response.body.clear();
  ctx.metrics.CountRequest(RouteLabel(route.kind), response.status);
  return response;
}

}  // namespace dbos_drain
