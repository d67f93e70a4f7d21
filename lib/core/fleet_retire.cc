#include "fleet_retire.h"

#include <algorithm>
#include <set>

#include "names.h"

namespace dbos_drain {

std::optional<std::vector<std::string>> ParseKeepList(const std::string& csv, std::string* error) {
  std::vector<std::string> out;
  if (csv.empty()) {
    *error = "keep needs at least one version: keep=V[,V...] (the versions whose pods stay, e.g. the new ReplicaSet's hash)";
    return std::nullopt;
  }
  size_t p = 0;
  while (true) {
    const size_t comma = csv.find(',', p);
    const std::string name = csv.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
    if (name.empty()) {
      *error = "keep has an empty version name (\"" + csv.substr(0, 64) + "\"): separate names with one comma";
      return std::nullopt;
    }
    if (auto why = CheckName(name, "version"); !why.empty()) {
      *error = "keep: " + why;
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    if (comma == std::string::npos) break;
    p = comma + 1;
  }
  return out;
}

SetVerdict JudgeAllBut(const Report& report, const std::vector<std::string>& keep) {
  SetVerdict verdict;
  for (const auto& k : keep) {
    if (std::find(verdict.keep.begin(), verdict.keep.end(), k) == verdict.keep.end()) verdict.keep.push_back(k);
  }
  const std::set<std::string> kept(keep.begin(), keep.end());
  for (const auto& v : report.versions) {
    if (kept.count(v.version)) continue;
    verdict.judged.push_back(v.version);
    for (const auto& b : v.blockers) verdict.blockers.push_back({v.version, b.code, b.message});
  }
  if (!report.replica.fresh && verdict.judged.empty()) {
    verdict.blockers.push_back({"", "replica_lag",
                                report.replica.reason.value_or("the data comes from a standby too far behind") +
                                    ": a version registered on the primary since may not be visible here"});
  }
  verdict.safe_to_retire = verdict.blockers.empty();
  return verdict;
}

}  // namespace dbos_drain
