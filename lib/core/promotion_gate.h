// The promotion decision behind Flagger's confirm-promotion webhook, as a pure function: which
// versions were selected in, the verdict and a one-line summary out. The HTTP side (payload
// parsing, statuses, the answer's body) is serve/flagger_gate.h.
//
// Rule: promote only when every selected version is safe to retire (retire_policy.h); an
// unknown version never is. `drained` (nothing in flight at as_of) is kept beside it for people.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "drain_policy.h"
#include "model.h"

namespace dbos_drain {

inline constexpr size_t kMaxSummaryVersions = 5;  // blocked versions named on the summary line

// Which versions must be retirable.
struct GateSelection {
  std::vector<std::string> versions;
  bool all_but_latest = false;        // no metadata.version: every version but the latest
  std::optional<std::string> latest;  // the report's latest version
  // all_but_latest: versions left out of `versions` because the default listing hides them
  // (version_listing.h). Hidden means safe to retire, so leaving them out never changes the
  // verdict; it keeps 1,000 long-drained versions out of every answer and log line.
  size_t hidden = 0;
};

struct GateVerdict {
  bool safe_to_retire = false;          // the decision: promote
  bool drained = false;                 // every selected version has nothing in flight
  std::vector<VersionReport> versions;  // one per selected version, in selection order
  std::string summary;                  // one line for people; the caller escapes it for output
};

GateVerdict DecideGate(const GateSelection& selection, const Report& report, const PolicyOptions& policy);

}  // namespace dbos_drain
