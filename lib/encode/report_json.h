// The report as JSON: the document `status --json` prints and `serve` answers with.
// Field-by-field contract: docs/report-format.md.
#pragma once

#include <nlohmann/json.hpp>

#include "model.h"
#include "version_listing.h"
#include "text_format.h"  // FormatTimestamp

namespace dbos_drain {

nlohmann::json CountsToJson(const StatusCounts& counts);

nlohmann::json BlockersToJson(const std::vector<Blocker>& blockers);
nlohmann::json IntakeToJson(const Intake& intake);

// One version's entry: the one encoding of a version, used by GET /v1/versions, /v1/versions/{v},
// status --json and the Flagger answer's `results`. `as_of_ms` is only a fallback for an entry
// not built by BuildReport (the oldest age is precomputed there).
nlohmann::json VersionToJson(const VersionReport& version, int64_t as_of_ms);

// The whole report. `versions` holds the entries `listing` shows (version_listing.h): by
// default the listed ones, with `hidden_versions` saying how many were left out and `listing`
// naming the choice ("default", "all", "named": the caller put the named entries in
// report.versions). Every other field (unassigned, queues, latest) is the whole report's.
nlohmann::json ReportToJson(const Report& report, Listing listing = Listing::kDefault);

// Dumps with invalid UTF-8 replaced rather than throwing (names come from the database).
std::string DumpJson(const nlohmann::json& document, int indent = -1);

}  // namespace dbos_drain
