// The report as a table for people (`dbos-drain status` without --json).
#pragma once

#include <string>
#include <vector>

#include "model.h"

namespace dbos_drain {

// Columns: VERSION LATEST PENDING ENQUEUED DELAYED OLDEST EXECUTORS DRAINED, then notes
// (reasons, unassigned rows, schema caveats) below the table.
std::string FormatReportTable(const Report& report, const std::vector<VersionReport>& versions);

}  // namespace dbos_drain
