// The report as JSON: the document `status --json` prints and `serve` answers with.
// Field-by-field contract: docs/report-format.md.
#pragma once

#include <nlohmann/json.hpp>

#include "model.h"
#include "text_format.h"  // FormatTimestamp

namespace dbos_drain {

nlohmann::json CountsToJson(const StatusCounts& counts);

// One version's entry. `as_of_ms` dates the oldest-age field.
nlohmann::json VersionToJson(const VersionReport& version, int64_t as_of_ms);

// The whole report.
nlohmann::json ReportToJson(const Report& report);

// Dumps with invalid UTF-8 replaced rather than throwing (names come from the database).
std::string DumpJson(const nlohmann::json& document, int indent = -1);

}  // namespace dbos_drain
