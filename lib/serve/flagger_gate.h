// Flagger's confirm-promotion gate, as pure functions: the POSTed payload in, which versions must
// be safe to retire, the answer's body out (the verdict itself: core/promotion_gate.h). No I/O: serve/flagger_endpoint.cc reads
// the report from the cache, logs, and calls these in order:
//
//   ParseGateRequest -> CheckGateApplication -> (report) -> SelectGateVersions -> DecideGate
//   -> GateBody
//
// Flagger's side (fluxcd/flagger v1.44.0, checked in its source):
//  - pkg/controller/webhook.go callWebhook: POST of CanaryWebhookPayload
//    {"name","namespace","phase","checksum","metadata"} (pkg/apis/flagger/v1beta1/canary.go;
//    `metadata` is map[string]string, omitted when empty) with Content-Type: application/json;
//    a status > 202 is a failure; retries (hashicorp/go-retryablehttp v0.7.8) on connection
//    errors, 429 and 5xx except 501, honouring Retry-After on 429/503.
//  - pkg/controller/scheduler_hooks.go runConfirmPromotionHooks: sends phase "Progressing"; on a
//    failure it records "Halt NAME.NAMESPACE advancement waiting for promotion approval HOOK"
//    (once, when the phase becomes WaitingPromotion) and DROPS the response body. So the
//    body's summary line is for people calling the route by hand and for dbos-drain's own log.
//
// Statuses: 200 every selected version safe to retire; 409 not; 400 malformed JSON or wrong types; 413 body over
// 64 KiB; 415 not application/json; 422 cannot tell which versions (no metadata.version and no
// latest registered version, or metadata.application is not the application this server
// serves); 503 (decided by the caller) when the database is unreadable.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "drain_policy.h"
#include "model.h"
#include "promotion_gate.h"
#include "text_format.h"  // OneLine

namespace dbos_drain {

inline constexpr size_t kMaxGateBodyBytes = 64 * 1024;
inline constexpr size_t kMaxGateVersions = 100;  // entries in metadata.version

// A refusal before any verdict: HTTP status, error code (docs/report-format.md) and a message
// that says what is wrong.
struct GateError {
  int status = 400;
  std::string code;
  std::string message;
};

// Flagger's CanaryWebhookPayload, validated.
struct GatePayload {
  std::string name;        // canary name ("" when absent)
  std::string namespace_;  // canary namespace ("" when absent)
  std::string phase;
  std::string checksum;
  std::map<std::string, std::string> metadata;
  // metadata.version split on ',', trimmed, deduplicated in order; empty: "all but latest".
  std::vector<std::string> versions;
  std::optional<std::string> application;  // metadata.application

  // "namespace/name" for logs ("?" for a missing part).
  std::string Canary() const;
};

// True for "application/json", any case, with or without parameters ("; charset=utf-8").
bool IsJsonContentType(const std::string& content_type);

// 413 (too large), 415 (content type), 400 (not JSON, not an object, wrong types, bad
// metadata.version or metadata.application), or the payload. Fields other than the five of
// Flagger's payload, and metadata keys other than version/application, are ignored.
std::variant<GatePayload, GateError> ParseGateRequest(const std::string& content_type, const std::string& body,
                                                      bool body_too_large);

// A dbos-drain reads one application's rows (--application) or every application's (no flag);
// it cannot re-scope per request. metadata.application is therefore a check: when given it must
// equal --application, else 422 saying which dbos-drain to call or what to change.
std::optional<GateError> CheckGateApplication(const GatePayload& payload,
                                              const std::optional<std::string>& server_application);

// metadata.version when given; otherwise every version in the report except the latest one
// registered in application_versions and those the default listing hides (safe to retire by
// definition; counted in GateSelection::hidden). 422 when there is no such table, or nothing
// registered.
std::variant<GateSelection, GateError> SelectGateVersions(const GatePayload& payload, const Report& report);

// The verdict: DecideGate in core/promotion_gate.h (promote only when every selected version is
// safe to retire).

// The HTTP answer for a verdict.
struct GateAnswer {
  int status = 200;
  std::string content_type;
  std::string body;
};

// How much the answer says. The route is open (Flagger cannot send a token), so with
// --auth-token-file set it must not hand out what the token protects on /v1/versions: kVerdict
// keeps the verdict, the summary and each version's blockers (code and message) and drops the
// rest of each version's entry (executors, queues, counts, ages) and "application".
enum class GateDetail { kFull, kVerdict };

// 200: application/json, {"safe_to_retire":true,"drained":true,"message":...,"versions":[...],
//      "results":[<the version entry of GET /v1/versions/{version}>...],...}; with kVerdict each
//      result is {"version","safe_to_retire","blockers":[{"code","message"}...]}.
// 409: text/plain; charset=utf-8, line 1 the summary (naming each version's blockers), line 2
//      the same JSON object with "safe_to_retire":false. `age_seconds`: how old the report is.
GateAnswer GateBody(const GatePayload& payload, const GateSelection& selection, const GateVerdict& verdict,
                    const Report& report, double age_seconds, GateDetail detail = GateDetail::kFull);

// Messages quote names with OneLine (encode/text_format.h): CR, LF, tab and other control
// characters become escapes, so a hostile name cannot add a line.

}  // namespace dbos_drain
