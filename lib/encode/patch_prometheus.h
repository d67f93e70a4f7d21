// The patch series of GET /metrics (Prometheus text 0.0.4), appended after EncodePrometheus's
// families when serve runs with --patch-metrics. Pure. Families (gauges, one series per patch):
//   dbos_drain_patch_in_flight_with_marker{patch}
//   dbos_drain_patch_blocking_deprecation{patch}
//   dbos_drain_patch_safe_to_deprecate{patch}   0/1
//   dbos_drain_patch_safe_to_remove{patch}      0/1
//   dbos_drain_patch_report_up                  0/1: the patch report could be read (within its
//                                               staleness bound); the per-patch series are
//                                               absent when it is 0 (never stale ones)
#pragma once

#include <string>

#include "patch_policy.h"

namespace dbos_drain {

// `report` null: the patch report is unreadable; only dbos_drain_patch_report_up 0.
std::string EncodePatchPrometheus(const PatchesReport* report);

}  // namespace dbos_drain
