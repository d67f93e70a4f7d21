// Which versions the report lists by default (GET /v1/versions, `status`, /metrics), so that
// 1,000 versions in application_versions, most of them drained long ago, do not make every answer
// and every scrape carry 1,000 entries. A pure function of one version's verdict and the time.
//
// Rules (docs/concepts.md, "Which versions are listed"):
//  - A version is listed by default unless all three hold: it is safe to retire
//    (VersionReport::safe_to_retire), it was not registered within the recent window
//    (registered_at_ms is null, or older than as_of - recent; --show-recent, default 24h), and
//    nothing of it finished within the quiet period (finished_in_window null or 0).
//    So every version with work in flight, intake, a blocker of any kind, the latest, an unknown,
//    a patching or a stuck one is always listed; only long-drained, quiet old versions are hidden.
//  - Hiding is a presentation choice, never a verdict: a version named by a caller
//    (status V..., GET /v1/versions/{v}, Flagger's payload) is answered whatever this rule says,
//    and the report still holds every version (Report::versions; `listed` marks the default set).
//  - Listing::kAll shows every version (status --all, GET /v1/versions?all=true); kNamed is the
//    set a caller named (status V...); kDefault the listed ones. `hidden_versions` counts what a
//    listing left out: 0 for kAll and kNamed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "model.h"

namespace dbos_drain {

inline constexpr int64_t kDefaultShowRecentMs = 24LL * 3600 * 1000;  // --show-recent

enum class Listing { kDefault, kAll, kNamed };
const char* ListingName(Listing listing);  // "default", "all", "named"

// True when `version` belongs in the default listing of a report taken at `as_of_ms`.
bool ListedByDefault(const VersionReport& version, int64_t as_of_ms, int64_t show_recent_ms);

// Sets every entry's `listed` and the report's `hidden_versions` (BuildReport calls it once).
void MarkListed(Report& report, int64_t show_recent_ms);

// Whether `version` is shown by `listing` (kNamed: the caller already chose; always true).
inline bool Shown(const VersionReport& version, Listing listing) {
  return listing != Listing::kDefault || version.listed;
}

// How many versions of `report` the listing leaves out.
size_t HiddenBy(const Report& report, Listing listing);

}  // namespace dbos_drain
