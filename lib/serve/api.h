// The HTTP API of `dbos-drain serve`, independent of the HTTP library: a request in, a response
// out. The front listener (plugin/front_listener.h) only converts to and from these types, so the
// API is tested (test/api/) and fuzzed (fuzz/api_fuzzer.cc) without sockets.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "drain_error.h"
#include "drain_policy.h"
#include "http_route.h"
#include "logger.h"
#include "report_cache.h"
#include "report_json.h"
#include "service_metrics.h"

namespace dbos_drain {

inline constexpr size_t kMaxBodyBytes = 64 * 1024;

struct HttpRequest {
  std::string method;
  std::string target;        // raw path and query, still percent-encoded
  std::string content_type;  // Content-Type header, "" when absent
  std::string authorization; // Authorization header, "" when absent
  std::string body;
  bool body_too_large = false;  // the body was cut past kMaxBodyBytes (serve's listener answers 413 itself)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class PatchCache;  // patch_cache.h
class HoldBoard;   // hold_board.h

// What every endpoint may use. Owned by the serve command; outlives the handler.
struct ApiContext {
  ReportCache& cache;
  PolicyOptions policy;
  std::optional<std::string> application;  // --application, for Flagger's "all but latest"
  ServiceMetrics& metrics;
  Logger& log;
  std::string build_version;
  // Bearer-token check for protected routes; empty when --auth-token-file is not set.
  std::function<bool(const std::string& authorization_header)> authorize;
  // GET /v1/patches (docs/concepts.md, "Versions and patching"); null: not served. `patch_metrics`: /metrics appends
  // the patch series (serve --patch-metrics), reading through `patches`.
  PatchCache* patches = nullptr;
  bool patch_metrics = false;
  // GET /v1/hold (docs/guards.md, "The pod hold"); null: answered 503.
  HoldBoard* holds = nullptr;
};

// {"drained": false, "error": {"code": ..., "message": ...}}
HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message);
// 503 for a database that cannot be read (the cache's error).
HttpResponse DatabaseErrorResponse(const DrainError& error);
// Adds "age_seconds" to a pre-encoded JSON object (CachedReport strings end in '}').
std::string WithAge(const std::string& json_object, const CachedReport& report);

// The endpoints, one file each.
HttpResponse ServeHealth(const ApiContext& ctx, const Route& route);
HttpResponse ServeReady(const ApiContext& ctx, const Route& route);
HttpResponse ServeVersions(const ApiContext& ctx, const Route& route);
HttpResponse ServeVersion(const ApiContext& ctx, const Route& route);
HttpResponse ServeQueue(const ApiContext& ctx, const Route& route);
HttpResponse ServeMetrics(const ApiContext& ctx, const Route& route);
HttpResponse ServeFlaggerConfirmPromotion(const ApiContext& ctx, const HttpRequest& request);
HttpResponse ServePatches(const ApiContext& ctx, const Route& route);
HttpResponse ServeRetire(const ApiContext& ctx, const Route& route);
// The hold on the calling thread, through HandleRequest: waits up to the bound. serve never
// reaches it with a board (StartHold takes every hold request first, hold_endpoint.cc).
HttpResponse ServeHold(const ApiContext& ctx, const Route& route);
// The hold without a thread: when `request` is GET /v1/hold, takes it and calls `done` exactly
// once (at once for an error or when the board is absent, else from the board's thread) and
// returns true; false for any other route. Counts it in ctx.metrics when answered.
bool StartHold(const ApiContext& ctx, const HttpRequest& request, std::function<void(HttpResponse)> done);

// Routes and answers one request; never throws. Counts it in ctx.metrics.
HttpResponse HandleRequest(const ApiContext& ctx, const HttpRequest& request);

// The route label used in metrics and logs ("/v1/versions/{version}").
const char* RouteLabel(RouteKind kind);

}  // namespace dbos_drain
