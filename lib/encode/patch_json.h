// The patch report as JSON: the document `dbos-drain patches --json` prints and
// GET /v1/patches serves (fields: docs/reference/report.md, "The patch report").
#pragma once

#include <nlohmann/json.hpp>

#include "patch_policy.h"

namespace dbos_drain {

nlohmann::json PatchToJson(const PatchReport& patch, int64_t as_of_ms);

// The whole document; `patches` replaces report.patches when given (the named ones).
nlohmann::json PatchesToJson(const PatchesReport& report, const std::vector<PatchReport>* patches = nullptr);

}  // namespace dbos_drain
