#include "version_listing.h"

namespace dbos_drain {

const char* ListingName(Listing listing) {
  switch (listing) {
    case Listing::kDefault: return "default";
    case Listing::kAll: return "all";
    case Listing::kNamed: return "named";
  }
  return "default";
}

bool ListedByDefault(const VersionReport& v, int64_t as_of_ms, int64_t show_recent_ms) {
  if (!v.safe_to_retire) return true;
  if (v.registered_at_ms && *v.registered_at_ms >= as_of_ms - show_recent_ms) return true;
  if (v.finished_in_window && *v.finished_in_window > 0) return true;
  return false;
}

void MarkListed(Report& report, int64_t show_recent_ms) {
  report.show_recent_ms = show_recent_ms;
  report.hidden_versions = 0;
  for (auto& v : report.versions) {
    v.listed = ListedByDefault(v, report.as_of_ms, show_recent_ms);
    if (!v.listed) ++report.hidden_versions;
  }
}

size_t HiddenBy(const Report& report, Listing listing) {
  return listing == Listing::kDefault ? report.hidden_versions : 0;
}

}  // namespace dbos_drain
