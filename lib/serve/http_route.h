// Request routing for `dbos-drain serve`, as a pure function of method and request target, so
// every path rule is unit-tested and fuzzed without a server.
//
// Routes (docs/report-format.md):
//   GET  /healthz   GET /readyz   GET /metrics   GET /v1/versions[?all=true|false]
//   GET  /v1/versions/{version}   GET /v1/queues/{queue}[?version=V|latest]   GET /v1/patches
//   POST /v1/flagger/confirm-promotion
//   GET  /v1/retire?keep=V[,V...]   GET /v1/hold?version=V&executor=E[&timeout=SECONDS]
// {version} and {queue} are one percent-decoded path segment: 1..255 bytes of valid UTF-8
// without NUL. HEAD is answered like GET without a body. Query parameters a route does not
// take are ignored; a parameter it takes with a malformed value is a 400 (kBadRequest).
#pragma once

#include <optional>
#include <cstdint>
#include <string>
#include <vector>

namespace dbos_drain {

enum class RouteKind {
  kHealthz,
  kReadyz,
  kMetrics,
  kVersions,
  kVersion,
  kQueue,
  kFlaggerConfirmPromotion,
  kPatches,
  kRetire,            // the set verdict (core/fleet_retire.h)
  kHold,              // the pod hold, a long poll (core/hold_rule.h)
  kNotFound,          // no such path
  kMethodNotAllowed,  // path exists, method does not; `allow` says which do
  kBadRequest,        // malformed target or parameter; `error` says why
};

struct Route {
  RouteKind kind = RouteKind::kNotFound;
  std::string name;                   // {version} or {queue}, decoded
  std::optional<std::string> version; // ?version= for queues
  bool all = false;                   // ?all=true for /v1/versions: every version, not the default listing
  std::vector<std::string> keep;      // ?keep= for /v1/retire (checked, non-empty)
  std::optional<std::string> executor;  // ?executor= for /v1/hold
  std::optional<int64_t> bound_s;       // ?timeout= for /v1/hold (seconds; the caller's bound)
  std::string allow;                  // for kMethodNotAllowed: "GET, HEAD"
  std::string error;                  // for kBadRequest
};

inline constexpr size_t kMaxTargetBytes = 4096;

// Percent-decodes `in`; nullopt for a broken escape ("%4", "%zz"). '+' is left as is.
std::optional<std::string> PercentDecode(const std::string& in);

// Routes `method` and the raw request target (path and optional query, still encoded).
Route RouteRequest(const std::string& method, const std::string& target);

}  // namespace dbos_drain
