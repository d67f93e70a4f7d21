// The set verdict: "may every version except these be deleted now?" (GET /v1/retire?keep=,
// status --keep, wait --keep). Argo blue-green scales down every ReplicaSet but the new one after
// its analysis succeeds, and DBOS keeps every version that ran work alive until that work ends,
// so asking about one version (the Stable hash) lets a superseded version in the middle go with
// its work. A pure function of one Report.
//
// Rules (docs/guards.md, "Retiring every version but some"):
//  - judged = every version of the report (Report::versions: hidden ones included, the default
//    listing is presentation only) whose name is not in `keep`, in report order.
//  - blockers = each judged version's own retire blockers (retire_policy.h), tagged with its
//    version; safe_to_retire exactly when there are none.
//  - A keep name the report does not know is allowed (new pods may not have registered yet); the
//    current latest version is then judged, and blocks as `latest`: fail closed.
//  - A replica past --max-replica-lag blocks the set even when nothing is judged (a version
//    registered on the primary may not be visible yet): one blocker with version "".
//  - keep must name at least one version; ParseKeepList says why not otherwise.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model.h"

namespace dbos_drain {

struct SetBlocker {
  std::string version;  // "" for a blocker of the whole set (replica_lag)
  std::string code;
  std::string message;
};

struct SetVerdict {
  bool safe_to_retire = false;
  std::vector<std::string> keep;    // as given, duplicates removed, in order
  std::vector<std::string> judged;  // the versions judged, report order
  std::vector<SetBlocker> blockers;
};

// "V[,V...]" -> the names; each is checked like a version name (names.h). An empty list, an
// empty name ("v1,,v2") or a bad name: nullopt and `error` says why.
std::optional<std::vector<std::string>> ParseKeepList(const std::string& csv, std::string* error);

// The verdict on every version of `report` but `keep` (non-empty, checked names).
SetVerdict JudgeAllBut(const Report& report, const std::vector<std::string>& keep);

}  // namespace dbos_drain
