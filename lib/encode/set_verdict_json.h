// The set verdict (core/fleet_retire.h) and the pod hold's answer (core/hold_rule.h) as JSON:
// GET /v1/retire, status --keep --json, GET /v1/hold. Fields: docs/guards.md, "Retiring every version
// but some" and "The pod hold".
#pragma once

#include <nlohmann/json.hpp>

#include "fleet_retire.h"
#include "hold_rule.h"

namespace dbos_drain {

// {"safe_to_retire": b, "keep": [...], "judged": [...], "blockers": [{"version","code","message"}],
//  "latest_version": s|null, "as_of": "..."}
nlohmann::json SetVerdictToJson(const SetVerdict& verdict, const Report& report);

// {"release": b, "version", "executor", "code", "message", "bound_passed": b}
nlohmann::json HoldDecisionToJson(const HoldQuestion& question, const HoldDecision& decision, bool bound_passed);

}  // namespace dbos_drain
