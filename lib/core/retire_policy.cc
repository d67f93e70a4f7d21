#include "retire_policy.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "drain_policy.h"
#include "duration.h"

namespace dbos_drain {
namespace {

std::string Plural(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// "3 pending, 4 enqueued, 1 delayed"
std::string CountsText(const StatusCounts& c) {
  std::string out;
  auto part = [&](int64_t n, const char* word) {
    if (n == 0) return;
    out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + word;
  };
  part(c.pending, "pending");
  part(c.enqueued, "enqueued");
  part(c.delayed, "delayed");
  part(c.suspended, "suspended");
  return out;
}

// "a (3), b (2) and 4 more names": the largest entries first.
std::string TopEntries(const std::map<std::string, int64_t>& counts, size_t limit) {
  std::vector<std::pair<std::string, int64_t>> v(counts.begin(), counts.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (size_t i = 0; i < v.size() && i < limit; ++i) {
    out += (i ? ", " : "") + (v[i].first.empty() ? std::string("(no name)") : v[i].first) + " (" +
           std::to_string(v[i].second) + ")";
  }
  if (v.size() > limit) out += " and " + Plural(static_cast<int64_t>(v.size() - limit), "more", "more");
  return out;
}

std::string IntakeShort(const VersionReport& v, int64_t window_ms, int64_t as_of_ms) {
  std::string out = Plural(v.intake.started, "workflow", "workflows") + " started in the last " +
                    FormatDuration(std::chrono::milliseconds(window_ms));
  if (v.intake.last_started_at_ms) {
    out += ", last " + FormatAge(std::max<int64_t>(0, as_of_ms - *v.intake.last_started_at_ms)) + " ago";
  }
  return out;
}

std::vector<std::string> DisconnectedPendingExecutors(const VersionReport& v) {
  std::vector<std::string> out;
  for (const auto& [executor, counts] : v.executors) {
    if (counts.pending > 0 && !executor.empty() && !v.connected_executors.count(executor)) out.push_back(executor);
  }
  return out;
}

}  // namespace

std::string SdkSessionName(const std::string& executor, const std::string& version) {
  std::string full = "dbos_transact_" + executor + "_" + version;
  if (full.size() > static_cast<size_t>(kMaxApplicationNameBytes)) full.resize(kMaxApplicationNameBytes);
  return full;
}

std::optional<std::pair<std::string, std::string>> ParseSdkSession(const std::string& name,
                                                                   const std::map<std::string, VersionReport>& versions) {
  static const std::string prefix = "dbos_transact_";
  if (name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  // Python's DBOSClient (dbos_transact_client) is no executor of any version, whatever versions exist.
  if (name == "dbos_transact_client") return std::nullopt;
  const std::string rest = name.substr(prefix.size());
  size_t p = rest.rfind('_');
  while (p != std::string::npos && p > 0) {
    if (p + 1 < rest.size() && versions.count(rest.substr(p + 1))) {
      return std::make_pair(rest.substr(0, p), rest.substr(p + 1));
    }
    p = rest.rfind('_', p - 1);
  }
  return std::nullopt;
}

void AttachRetireInputs(const Snapshot& s, const std::optional<std::string>& latest,
                        std::map<std::string, VersionReport>& entries) {
  auto entry_for = [&](const std::string& name) -> VersionReport& {
    auto [it, inserted] = entries.try_emplace(name);
    if (inserted) it->second.version = name;
    return it->second;
  };
  auto add_intake = [](VersionReport& e, const IntakeGroup& g) {
    e.intake.started += g.count;
    e.intake.by_name[g.name] += g.count;
    e.intake.by_kind[IntakeKindName(g.kind)] += g.count;
    if (!e.intake.last_started_at_ms || g.last_created_at_ms > *e.intake.last_started_at_ms) {
      e.intake.last_started_at_ms = g.last_created_at_ms;
    }
  };
  for (const auto& g : s.intake) {
    if (g.version) {
      VersionReport& e = entry_for(*g.version);
      e.known = true;
      add_intake(e, g);
    } else if (latest) {
      add_intake(entry_for(*latest), g);
    }
  }
  for (auto& [name, e] : entries) {
    e.intake.window_ms = s.window_ms;
    if (s.finishes_known) e.finished_in_window = 0;
  }
  if (s.finishes_known) {
    for (const auto& g : s.finished) {
      if (!g.version) continue;
      auto it = entries.find(*g.version);
      if (it == entries.end()) continue;  // finished only: not a version the report shows
      VersionReport& e = it->second;
      e.finished_in_window = e.finished_in_window.value_or(0) + g.count;
      if (!e.last_finished_at_ms || g.last_completed_at_ms > *e.last_finished_at_ms) {
        e.last_finished_at_ms = g.last_completed_at_ms;
      }
    }
  }
  // Connectivity: known when some visible session carries the TS SDK's name for a version of
  // this report. Each session names one executor of one version.
  bool known = false;
  std::set<std::string> names(s.sdk_sessions.begin(), s.sdk_sessions.end());
  if (s.sessions_visible) {
    for (const auto& session : s.sdk_sessions) {
      auto parsed = ParseSdkSession(session, entries);
      if (!parsed) continue;
      known = true;
      entries[parsed->second].connected_executors.insert(parsed->first);
    }
  }
  for (auto& [name, e] : entries) {
    e.connectivity_known = known;
    if (!known) continue;
    for (const auto& [executor, counts] : e.executors) {
      if (executor.empty()) continue;  // client enqueue, not claimed: no process to look for
      // Compared in full (cut to 63 bytes), so a name cut by PostgreSQL still matches.
      const bool connected = e.connected_executors.count(executor) > 0 || names.count(SdkSessionName(executor, name)) > 0;
      e.executor_connected[executor] = connected;
      if (connected) e.connected_executors.insert(executor);
    }
  }
}

void DecideRetire(VersionReport& v, int64_t as_of_ms, int64_t window_ms, bool intake_read,
                  const ReplicaAssessment& replica) {
  v.blockers.clear();
  v.intake.window_ms = window_ms;
  const std::string window = FormatDuration(std::chrono::milliseconds(window_ms));
  const int64_t in_flight = v.in_flight.total();
  v.stuck = v.known && v.connectivity_known && in_flight > 0 && v.connected_executors.empty();

  // drain_policy puts the replica's reason first in `reason`; the replica_lag blocker says it.
  std::optional<std::string> own_reason = v.reason;
  if (!replica.fresh && own_reason && replica.reason) {
    if (*own_reason == *replica.reason) {
      own_reason.reset();
    } else if (own_reason->rfind(*replica.reason + "; ", 0) == 0) {
      own_reason = own_reason->substr(replica.reason->size() + 2);
    }
  }
  if (!v.known) {
    v.blockers.push_back({"unknown_version",
                          own_reason ? *own_reason
                                   : "version \"" + v.version +
                                         "\" is unknown (never registered, no workflow of it); an unknown version is "
                                         "never safe to retire: check the name"});
  }
  if (v.latest) {
    v.blockers.push_back({"latest", v.version + " is the latest version" +
                                        (v.application ? " of application " + *v.application : std::string()) +
                                        " (the highest version_timestamp in application_versions): "
                                        "its workers take new work and the rows enqueued without a version; it becomes "
                                        "retirable only after a newer version registers (its first worker launches)"});
  }
  if (v.patching) {
    v.blockers.push_back({"patching", "version PATCHING_ENABLED is shared by every deployment (workflow patching is on): "
                                      "retiring it retires them all; versions cannot tell deployments apart here, so "
                                      "judge patches instead (dbos-drain patches) or set an application version"});
  }
  if (v.known && in_flight > 0) {
    std::string m = Plural(in_flight, "workflow", "workflows") + " of " + v.version + " in flight (" +
                    CountsText(v.in_flight) + ")";
    if (v.oldest_in_flight_age_ms) m += ", oldest started " + FormatAge(*v.oldest_in_flight_age_ms) + " ago";
    if (v.unassigned_in_flight > 0) m += ", " + std::to_string(v.unassigned_in_flight) + " of them enqueued without a version";
    m += "; keep " + v.version +
         "'s pods running until they finish: only a worker of this version dequeues its ENQUEUED rows, and only "
         "one with the same executor id recovers its PENDING rows";
    v.blockers.push_back({"in_flight", m});
  }
  int64_t unknown = 0;
  for (const auto& [status, n] : v.unknown_statuses) unknown += n;
  if (unknown > 0) {
    std::string list;
    for (const auto& [status, n] : v.unknown_statuses) list += (list.empty() ? "" : ", ") + std::to_string(n) + " " + status;
    v.blockers.push_back(
        {"unknown_status",
         Plural(unknown, "workflow", "workflows") + " of " + v.version +
             " (or enqueued without a version, which any version may hold) with a status dbos-drain does not "
             "know: " + list + ". A status that is not a known finished one is never read as finished: upgrade "
             "dbos-drain to a release that knows it, and keep " + v.version + "'s pods until then"});
  }
  if (!v.statuses_checked) {
    v.blockers.push_back({"statuses_unchecked",
                          "the check for SUSPENDED workflows and unknown statuses (a scan of workflow_status) has "
                          "not completed on this connection (it timed out or did not run), so work of " + v.version +
                              " in them cannot be ruled out; raise --query-timeout if it keeps timing out"});
  }
  if (v.intake.started > 0) {
    std::string m = Plural(v.intake.started, "workflow", "workflows") + " of " + v.version + " started in the last " + window;
    if (v.intake.last_started_at_ms) {
      m += ", the last " + FormatAge(std::max<int64_t>(0, as_of_ms - *v.intake.last_started_at_ms)) + " ago";
    }
    m += "; by name: " + TopEntries(v.intake.by_name, 3) + "; by kind: " + TopEntries(v.intake.by_kind, 5) +
         ". Its pods are still starting work: route no traffic to them and stop their receivers and timers; it is "
         "safe to retire " + window + " after the last start (--quiet-period)";
    v.blockers.push_back({"recent_intake", m});
  }
  if (!intake_read) {
    v.blockers.push_back({"intake_unread", "the starts of the last " + window +
                                               " were not read (the report covered a shorter window), so recent "
                                               "intake cannot be ruled out; this is a bug: report it"});
  }
  if (v.stuck) {
    std::string m = Plural(in_flight, "workflow", "workflows") + " of " + v.version +
                    " in flight and no executor of it is connected (no session named dbos_transact_<executor>_" +
                    v.version + " in pg_stat_activity): nothing will finish them.";
    auto gone = DisconnectedPendingExecutors(v);
    if (!gone.empty()) {
      std::string list;
      for (size_t i = 0; i < gone.size() && i < 5; ++i) list += (i ? ", " : "") + gone[i];
      if (gone.size() > 5) list += " and " + std::to_string(gone.size() - 5) + " more";
      m += " Start a pod of " + v.version + " with DBOS__VMID set to each executor holding PENDING rows (" + list +
           ") so launch recovery takes them;";
    } else {
      m += " Start a pod of " + v.version + " so its workers dequeue the ENQUEUED rows;";
    }
    m += " or recover them with DBOS Conductor; resumeWorkflow needs a live worker of " + v.version + " too";
    v.blockers.push_back({"stuck", m});
  }

  if (!replica.fresh) {
    v.blockers.push_back(
        {"replica_lag",
         replica.reason.value_or("replica lag beyond --max-replica-lag " +
                                 FormatDuration(std::chrono::milliseconds(replica.max_lag_ms))) +
             ". Not safe to retire from this data: work started on the primary since may not be visible. Read "
             "the primary (--database-url), or bring the standby back within --max-replica-lag (resume replay "
             "with pg_wal_replay_resume(), restore its link to the primary), then ask again"});
  }

  v.safe_to_retire = v.blockers.empty();
  v.retire_hold = v.safe_to_retire ? 0 : std::max<int64_t>(1, in_flight + unknown + v.intake.started);

  if (!v.known || !replica.fresh || unknown > 0 || !v.statuses_checked) {
    v.phase = Phase::kUnknown;
  } else if (v.latest) {
    v.phase = Phase::kLatest;
  } else if (v.stuck) {
    v.phase = Phase::kStuck;
  } else if (v.intake.started > 0) {
    v.phase = Phase::kActive;
  } else if (in_flight > 0) {
    v.phase = Phase::kDraining;
  } else {
    v.phase = Phase::kDrained;
  }

  v.drained_since_ms = in_flight == 0 && unknown == 0 && v.known ? v.last_finished_at_ms : std::nullopt;

  v.eta_seconds.reset();
  if (v.safe_to_retire) {
    v.eta_seconds = 0.0;
  } else if (v.known && !v.latest && !v.patching && !v.stuck && replica.fresh && unknown == 0 && v.statuses_checked &&
             v.in_flight.suspended == 0) {
    // SUSPENDED rows wait in recv/sleep for as long as the workflow says (days, perhaps): the
    // finish rate says nothing about when they end, so no estimate while any is suspended.
    std::optional<double> drain;
    if (in_flight == 0) {
      drain = 0.0;
    } else if (v.finished_in_window && *v.finished_in_window > 0 && window_ms > 0) {
      drain = static_cast<double>(in_flight) * (window_ms / 1000.0) / static_cast<double>(*v.finished_in_window);
    }
    if (drain) {
      double quiet = 0;
      if (v.intake.last_started_at_ms) {
        quiet = std::max<int64_t>(0, *v.intake.last_started_at_ms + window_ms - as_of_ms) / 1000.0;
      }
      v.eta_seconds = std::round(std::max(*drain, quiet) * 1000.0) / 1000.0;
    }
  }
}

std::string RetireLine(const VersionReport& v, int64_t as_of_ms, int64_t window_ms) {
  const std::string window = FormatDuration(std::chrono::milliseconds(window_ms));
  if (v.safe_to_retire) return v.version + " safe to retire: nothing in flight, no start in the last " + window;
  std::string out = v.version + " not safe to retire: ";
  bool first = true;
  for (const auto& b : v.blockers) {
    out += first ? "" : ", ";
    first = false;
    out += b.code;
    std::string detail;
    if (b.code == "in_flight") {
      // The drain summary's counts, with the queues named: "3 pending, 4 enqueued (tasks), oldest 2h 5m".
      VersionReport counts_only = v;  // the replica's reason (its own blocker) out of the counts
      counts_only.reason.reset();
      const std::string line = SummaryLine(counts_only, as_of_ms);
      const std::string cut = v.version + " not drained: ";
      detail = line.rfind(cut, 0) == 0 ? line.substr(cut.size()) : CountsText(v.in_flight);
    } else if (b.code == "recent_intake") {
      detail = IntakeShort(v, window_ms, as_of_ms);
    } else if (b.code == "stuck") {
      detail = "no executor of " + v.version + " connected";
    } else if (b.code == "replica_lag") {
      detail = b.message.substr(0, b.message.find(':'));  // "replica lag 15.0s exceeds --max-replica-lag 10s"
    } else if (b.code == "unknown_status") {
      for (const auto& [status, n] : v.unknown_statuses) detail += (detail.empty() ? "" : ", ") + std::to_string(n) + " " + status;
    } else if (b.code == "unknown_version") {
      detail = "\"" + v.version + "\" is unknown";
    }
    if (!detail.empty()) out += " (" + detail + ")";
  }
  return out;
}

Judgement JudgeVersions(const Report& report, const std::vector<std::string>& names, const PolicyOptions& options) {
  Judgement j;
  for (const auto& name : names) {
    j.versions.push_back(FindVersion(report, name, options));
    j.all_safe = j.all_safe && j.versions.back().safe_to_retire;
    j.all_drained = j.all_drained && j.versions.back().drained;
  }
  return j;
}

}  // namespace dbos_drain
