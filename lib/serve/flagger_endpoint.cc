// POST /v1/flagger/confirm-promotion: Flagger's confirm-promotion webhook. Holds the promotion
// (any status > 202) until the versions the canary replaces are safe to retire. The rules live in
// serve/flagger_gate.h; this file reads the report, logs the decision and answers.
#include "api.h"
#include "flagger_gate.h"

namespace dbos_drain {
namespace {

HttpResponse Refuse(const ApiContext& ctx, const GateError& e, const GatePayload* payload) {
  nlohmann::json fields{{"status", e.status}, {"code", e.code}, {"error", e.message}};
  if (payload) {
    fields["canary"] = payload->Canary();
    fields["checksum"] = payload->checksum;
  }
  ctx.log.Warn("flagger confirm-promotion refused", fields);
  return ErrorResponse(e.status, e.code, e.message);
}

}  // namespace

HttpResponse ServeFlaggerConfirmPromotion(const ApiContext& ctx, const HttpRequest& request) {
  auto parsed = ParseGateRequest(request.content_type, request.body, request.body_too_large);
  if (auto* e = std::get_if<GateError>(&parsed)) return Refuse(ctx, *e, nullptr);
  const GatePayload& payload = std::get<GatePayload>(parsed);
  if (auto e = CheckGateApplication(payload, ctx.application)) return Refuse(ctx, *e, &payload);

  // Named versions are passed to the cache so that one it does not know yet is looked up in
  // workflow history on the next refreshes (older schemas know versions only from there).
  ReportCache::Result result;
  if (payload.versions.empty()) {
    result = ctx.cache.Get();
  } else {
    for (const auto& v : payload.versions) {
      result = ctx.cache.Get(v);
      if (!result.report) break;
    }
  }
  if (!result.report) {
    ctx.log.Warn("flagger confirm-promotion: database unreadable",
                 {{"canary", payload.Canary()},
                  {"checksum", payload.checksum},
                  {"status", 503},
                  {"code", ErrorCodeName(result.error->code())},
                  {"error", result.error->what()}});
    return DatabaseErrorResponse(*result.error);
  }
  const CachedReport& cached = *result.report;

  auto selected = SelectGateVersions(payload, cached.report);
  if (auto* e = std::get_if<GateError>(&selected)) return Refuse(ctx, *e, &payload);
  const GateSelection& selection = std::get<GateSelection>(selected);
  GateVerdict verdict = DecideGate(selection, cached.report, ctx.policy);
  // With a token set, the open route says no more than the verdict (flagger_gate.h, GateDetail).
  GateAnswer answer = GateBody(payload, selection, verdict, cached.report, cached.AgeSeconds(),
                               ctx.authorize ? GateDetail::kVerdict : GateDetail::kFull);

  ctx.log.Info("flagger confirm-promotion",
               {{"canary", payload.Canary()},
                {"checksum", payload.checksum},
                {"phase", payload.phase},
                {"selection", selection.all_but_latest ? "all_but_latest" : "metadata.version"},
                {"versions", selection.versions},
                {"latest_version", selection.latest ? nlohmann::json(*selection.latest) : nlohmann::json(nullptr)},
                {"verdict", verdict.safe_to_retire ? "safe_to_retire" : "not_safe_to_retire"},
                {"drained", verdict.drained},
                {"status", answer.status},
                {"summary", OneLine(verdict.summary)},
                {"as_of", FormatTimestamp(cached.report.as_of_ms)}});

  HttpResponse r;
  r.status = answer.status;
  r.content_type = answer.content_type;
  r.body = std::move(answer.body);
  return r;
}

}  // namespace dbos_drain
