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

namespace {

// {"status":"ready","database_state":"readable","database":...,"schema":...,"as_of":...}
HttpResponse Ready(const CachedReport& current) {
  const auto& shape = current.report.shape;
  const auto& replica = current.report.replica;
  nlohmann::json body{{"status", "ready"},
                      {"database_state", "readable"},
                      {"database", shape.database},
                      {"schema", shape.schema},
                      {"as_of", FormatTimestamp(current.report.as_of_ms)},
                      {"standby", replica.standby}};
  // Issue 15: a standby too far behind stays ready (it answers, "not drained"), and says why.
  if (replica.standby) {
    body["replica"] = {{"state", replica.state},
                       {"lag_seconds", replica.lag_seconds ? nlohmann::json(*replica.lag_seconds) : nlohmann::json(nullptr)},
                       {"within_bound", replica.fresh},
                       {"reason", replica.reason ? nlohmann::json(*replica.reason) : nlohmann::json(nullptr)}};
  }
  HttpResponse r;
  r.body = DumpJson(body);
  return r;
}

// Latched ready, but the database cannot be read now: 200, saying why.
HttpResponse ReadyButUnreadable(const DrainError& error) {
  HttpResponse r;
  r.body = DumpJson(nlohmann::json{{"status", "ready"},
                                   {"database_state", "unreadable"},
                                   {"error", {{"code", ErrorCodeName(error.code())}, {"message", error.what()}}}});
  return r;
}

}  // namespace

HttpResponse ServeReady(const ApiContext& ctx, const Route&) {
  // Once latched, answer from memory: a probe must not wait on a database that hangs. The
  // kubelet gives a probe 1 s by default, a read may take query timeout + 1 s (6 s by default),
  // and a probe that times out counts as a failure: the outage would empty the Service after all.
  if (ctx.cache.ever_succeeded()) {
    if (auto current = ctx.cache.Peek()) return Ready(*current);
    if (auto error = ctx.cache.last_error()) return ReadyButUnreadable(*error);
    // No request asked for a while (or a read is under way): the last read succeeded.
    HttpResponse r;
    r.body = DumpJson(nlohmann::json{{"status", "ready"}, {"database_state", "idle"}});
    return r;
  }
  auto result = ctx.cache.Get();
  if (result.report) return Ready(*result.report);
  // A read that failed just after another succeeded still counts as latched.
  if (ctx.cache.ever_succeeded()) return ReadyButUnreadable(*result.error);
  return DatabaseErrorResponse(*result.error);
}

}  // namespace dbos_drain
