#include "drain_policy.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <sstream>

#include "duration.h"
#include "retire_policy.h"
#include "version_listing.h"

namespace dbos_drain {
namespace {

void AddGroup(VersionReport& entry, const InFlightGroup& group) {
  entry.in_flight.Add(group.status, group.count);
  if (group.queue && !group.queue->empty()) {
    entry.queues[*group.queue].Add(group.status, group.count);
  } else {
    entry.not_queued.Add(group.status, group.count);
  }
  entry.executors[group.executor].Add(group.status, group.count);
  if (!entry.oldest_in_flight_ms || group.oldest_created_at_ms < *entry.oldest_in_flight_ms) {
    entry.oldest_in_flight_ms = group.oldest_created_at_ms;
  }
}

std::string UnknownReason(const Report& report, const std::string& version) {
  std::string where = report.shape.has_application_versions
                          ? "not registered in " + report.shape.schema + ".application_versions and no"
                          : "no";
  std::string history = report.history_probe_timed_out && report.versions_probed.count(version)
                            ? " (the lookup in workflow history timed out: nothing indexes application_version; "
                              "it is retried later)"
                            : "";
  return "version \"" + version + "\" is unknown: " + where + " workflow of it in " +
         report.shape.schema + ".workflow_status" + history +
         "; an unknown version is never reported drained (a typo must not retire "
         "pods); use --unknown-version=drained to treat it as drained";
}

void DecideCounts(VersionReport& entry, const Report& report, const PolicyOptions& options);

// Applies the verdict rules to an entry whose counts are complete; then a standby too far behind
// (or of unknown lag) takes "drained" away whatever its data says.
void Decide(VersionReport& entry, const Report& report, const PolicyOptions& options) {
  DecideCounts(entry, report, options);
  if (report.replica.fresh) return;
  entry.drained = false;
  const std::string why = report.replica.reason.value_or("replica lag beyond --max-replica-lag");
  entry.reason = entry.reason ? why + "; " + *entry.reason : why;
}

void DecideCounts(VersionReport& entry, const Report& report, const PolicyOptions& options) {
  entry.patching = entry.version == kPatchingVersion;
  if (entry.patching) {
    entry.note = "patching mode: every process runs version PATCHING_ENABLED, so versions do not "
                 "separate deployments; drained means no workflow of any deployment is in flight";
  }
  if (!entry.known) {
    entry.drained = options.unknown_version_drained;
    if (entry.drained) {
      entry.note = "version is unknown; counted as drained because --unknown-version=drained";
    } else {
      entry.reason = UnknownReason(report, entry.version);
    }
    return;
  }
  entry.drained = entry.in_flight.total() == 0 && entry.unknown_statuses.empty();
  if (!entry.unknown_statuses.empty()) {
    std::string list;
    for (const auto& [status, n] : entry.unknown_statuses) list += (list.empty() ? "" : ", ") + std::to_string(n) + " " + status;
    entry.reason = "workflows of a status dbos-drain does not know (" + list + "): never read as finished; upgrade dbos-drain";
  }
}

}  // namespace

Report BuildReport(const Snapshot& snapshot, const PolicyOptions& options) {
  Report report;
  report.as_of_ms = snapshot.as_of_ms;
  report.shape = snapshot.shape;
  report.application = snapshot.application;
  report.application_filter_ignored = snapshot.application_filter_ignored;
  report.versions_probed = snapshot.versions_probed;
  report.history_probe_timed_out = snapshot.history_probe_timed_out;
  report.through_pooler = snapshot.through_pooler;
  report.replica = AssessReplica(snapshot.standby, options.max_replica_lag);
  if (report.replica.standby && report.replica.lag_seconds && *report.replica.lag_seconds > 0) {
    // Behind: the data is from the newest moment it is proven to reach (same server's clock).
    report.as_of_ms = std::min(report.as_of_ms, report.replica.data_as_of_ms);
  }

  // Latest: highest version_timestamp; ties broken by created_at, then name, so it is stable. Per
  // application scope, as the SDKs read it (own application_name or NULL): several applications
  // may share one system database, each with its own latest. A version owned by no application
  // is in every scope, and then the highest of all versions is a latest too (fail closed: an SDK
  // that registers without an application name may take it for its own).
  std::map<std::string, const RegisteredVersion*> latest_of;
  bool unowned = false;
  for (const auto& r : snapshot.registered) {
    if (r.application) latest_of.try_emplace(*r.application, nullptr);
    unowned = unowned || !r.application;
  }
  if (unowned || latest_of.empty()) latest_of.try_emplace("", nullptr);
  for (auto& [app, best] : latest_of) {
    for (const auto& r : snapshot.registered) {
      if (!app.empty() && r.application && *r.application != app) continue;
      if (!best || std::tie(r.version_timestamp_ms, r.created_at_ms, r.name) >
                       std::tie(best->version_timestamp_ms, best->created_at_ms, best->name)) {
        best = &r;
      }
    }
  }
  std::set<std::string> latest_names;
  for (const auto& [app, best] : latest_of) {
    if (!best) continue;
    report.latest_by_application[app] = best->name;
    latest_names.insert(best->name);
  }
  // One name when there is one scope (or every scope agrees); else none: "the" latest is not one version.
  const RegisteredVersion* latest = nullptr;
  if (latest_names.size() == 1) {
    for (const auto& [app, best] : latest_of) latest = best ? best : latest;
    report.latest_version = latest->name;
  }

  std::map<std::string, VersionReport> entries;
  auto entry_for = [&](const std::string& name) -> VersionReport& {
    auto [it, inserted] = entries.try_emplace(name);
    if (inserted) it->second.version = name;
    return it->second;
  };
  for (const auto& r : snapshot.registered) {
    auto& e = entry_for(r.name);
    e.known = true;
    e.registered_at_ms = r.version_timestamp_ms;
    if (r.application && !e.application) e.application = r.application;
  }
  for (const auto& name : latest_names) entry_for(name).latest = true;
  for (const auto& name : snapshot.versions_with_history) entry_for(name).known = true;

  for (const auto& q : snapshot.queues) {
    auto& qr = report.queues[q.name];
    qr.name = q.name;
    qr.registered = true;
    qr.concurrency = q.concurrency;
    qr.worker_concurrency = q.worker_concurrency;
    qr.application = q.application;
  }

  // Statuses dbos-drain does not know: a version's own rows block it; NULL-version rows block
  // every version (below): who takes them depends on the SDK generation (the latest only, or any
  // version before TS 4.24 / Python 2.27 / Go 0.19), and what the status means is unknown.
  report.statuses_checked_at_ms = snapshot.statuses_checked_at_ms;
  report.statuses_unchecked = snapshot.statuses_unchecked;
  for (const auto& u : snapshot.unknown_statuses) {
    if (!u.version) {
      report.unassigned_unknown_statuses[u.status] += u.count;
      continue;
    }
    auto& e = entry_for(*u.version);
    e.known = true;
    e.unknown_statuses[u.status] += u.count;
    if (!e.oldest_in_flight_ms || u.oldest_created_at_ms < *e.oldest_in_flight_ms) e.oldest_in_flight_ms = u.oldest_created_at_ms;
  }

  std::vector<const InFlightGroup*> unassigned;
  for (const auto& g : snapshot.groups) {
    if (g.queue && !g.queue->empty()) {
      auto& qr = report.queues[*g.queue];
      qr.name = *g.queue;
      qr.in_flight.Add(g.status, g.count);
    }
    if (!g.version) {
      unassigned.push_back(&g);
      report.unassigned.Add(g.status, g.count);
      if (g.queue && !g.queue->empty()) report.unassigned_queues[*g.queue].Add(g.status, g.count);
      continue;
    }
    auto& e = entry_for(*g.version);
    e.known = true;
    AddGroup(e, g);
  }

  if (latest) {
    auto& e = entry_for(latest->name);
    e.latest = true;
    for (const auto* g : unassigned) {
      AddGroup(e, *g);
      e.unassigned_in_flight += g->count;
    }
  }

  report.unassigned_not_queued = report.unassigned;
  for (const auto& [queue, counts] : report.unassigned_queues) {
    report.unassigned_not_queued.pending -= counts.pending;
    report.unassigned_not_queued.enqueued -= counts.enqueued;
    report.unassigned_not_queued.delayed -= counts.delayed;
    report.unassigned_not_queued.suspended -= counts.suspended;
  }
  for (auto& [name, e] : entries) {
    for (const auto& [status, n] : report.unassigned_unknown_statuses) e.unknown_statuses[status] += n;
    e.statuses_checked = !snapshot.statuses_unchecked;
  }

  AttachRetireInputs(snapshot, report.latest_version, entries);
  report.quiet_period_ms = std::max(snapshot.window_ms, options.quiet_period_ms);
  report.intake_read = snapshot.window_ms >= options.quiet_period_ms;
  for (auto& [name, e] : entries) {
    Decide(e, report, options);
    if (e.oldest_in_flight_ms) e.oldest_in_flight_age_ms = std::max<int64_t>(0, report.as_of_ms - *e.oldest_in_flight_ms);
    DecideRetire(e, report.as_of_ms, report.quiet_period_ms, report.intake_read, report.replica);
  }

  // Registered versions first in registration order, then the rest by name.
  std::vector<VersionReport> ordered;
  for (auto& [name, e] : entries) ordered.push_back(std::move(e));
  std::stable_sort(ordered.begin(), ordered.end(), [](const VersionReport& a, const VersionReport& b) {
    if (a.registered_at_ms.has_value() != b.registered_at_ms.has_value()) return a.registered_at_ms.has_value();
    if (a.registered_at_ms && *a.registered_at_ms != *b.registered_at_ms) return *a.registered_at_ms < *b.registered_at_ms;
    return a.version < b.version;
  });
  report.versions = std::move(ordered);
  for (size_t i = 0; i < report.versions.size(); ++i) report.index[report.versions[i].version] = i;
  MarkListed(report, options.show_recent_ms);
  return report;
}

VersionReport FindVersion(const Report& report, const std::string& version,
                          const PolicyOptions& options) {
  if (const VersionReport* e = report.Find(version)) return *e;
  VersionReport unknown;
  unknown.version = version;
  unknown.unknown_statuses = report.unassigned_unknown_statuses;
  unknown.statuses_checked = !report.statuses_unchecked;
  Decide(unknown, report, options);
  DecideRetire(unknown, report.as_of_ms, report.quiet_period_ms, report.intake_read, report.replica);
  return unknown;
}

std::string SummaryLine(const VersionReport& v, int64_t as_of_ms) {
  std::ostringstream out;
  out << v.version << (v.drained ? " drained" : " not drained");
  if (v.reason) {
    out << ": " << *v.reason;
    return out.str();
  }
  if (v.in_flight.total() == 0) {
    out << ": nothing in flight";
    return out.str();
  }
  out << ":";
  const char* sep = " ";
  auto part = [&](int64_t n, const char* word, bool queued_only) {
    if (n == 0) return;
    out << sep << n << ' ' << word;
    sep = ", ";
    if (!queued_only) return;
    // Name the queues holding these rows, e.g. "4 enqueued (tasks)".
    std::string names;
    for (const auto& [q, c] : v.queues) {
      int64_t k = word[0] == 'e' ? c.enqueued : c.delayed;
      if (k > 0) names += (names.empty() ? "" : ", ") + q;
    }
    if (!names.empty()) out << " (" << names << ")";
  };
  part(v.in_flight.pending, "pending", false);
  part(v.in_flight.enqueued, "enqueued", true);
  part(v.in_flight.delayed, "delayed", true);
  part(v.in_flight.suspended, "suspended", false);
  if (v.oldest_in_flight_ms) {
    out << ", oldest "
        << FormatAge(v.oldest_in_flight_age_ms ? *v.oldest_in_flight_age_ms
                                               : std::max<int64_t>(0, as_of_ms - *v.oldest_in_flight_ms));
  }
  return out.str();
}

}  // namespace dbos_drain
