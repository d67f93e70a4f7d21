// The report as a table for people (`dbos-drain status` without --json).
#pragma once

#include <string>
#include <vector>

#include "model.h"

namespace dbos_drain {

// Columns: VERSION LATEST PENDING ENQUEUED DELAYED OLDEST EXECUTORS DRAINED, then notes
// (reasons, unassigned rows, schema caveats) below the table. `hidden`: how many versions the
// default listing left out (version_listing.h); when not 0 a last line says so and that --all
// shows them.
std::string FormatReportTable(const Report& report, const std::vector<VersionReport>& versions, size_t hidden = 0);

}  // namespace dbos_drain
