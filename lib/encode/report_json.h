// The report as JSON: the document `status --json` prints and `serve` answers with.
// Field-by-field contract: docs/report-format.md.
#pragma once

#include <nlohmann/json.hpp>

#include "model.h"

namespace dbos_drain {

// RFC 3339 UTC with milliseconds: "2026-11-26T08:01:43.560Z".
std::string FormatTimestamp(int64_t epoch_ms);

nlohmann::json CountsToJson(const StatusCounts& counts);

// One version's entry. `as_of_ms` dates the oldest-age field.
nlohmann::json VersionToJson(const VersionReport& version, int64_t as_of_ms);

// The whole report.
nlohmann::json ReportToJson(const Report& report);

// Dumps with invalid UTF-8 replaced rather than throwing (names come from the database).
std::string DumpJson(const nlohmann::json& document, int indent = -1);

}  // namespace dbos_drain
