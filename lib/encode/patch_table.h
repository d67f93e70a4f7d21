// The patch report as a table for people (`dbos-drain patches` without --json).
// Columns: PATCH, FUNCTIONS, RECORDED (first marker, how long ago; "<=" when an upper bound),
// MARKED (in_flight_with_marker), BLOCKING (blocking_deprecation), DEPRECATE, REMOVE, then each
// blocker's message below the table.
#pragma once

#include <string>
#include <vector>

#include "patch_policy.h"

namespace dbos_drain {

std::string FormatPatchTable(const PatchesReport& report, const std::vector<PatchReport>& patches);

}  // namespace dbos_drain
