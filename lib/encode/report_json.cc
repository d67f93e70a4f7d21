#include "report_json.h"

#include "drain_policy.h"

namespace dbos_drain {

using nlohmann::json;

json CountsToJson(const StatusCounts& c) {
  return json{{"pending", c.pending}, {"enqueued", c.enqueued}, {"delayed", c.delayed}, {"suspended", c.suspended},
              {"total", c.total()}};
}

namespace {
json CountsMap(const std::map<std::string, StatusCounts>& m) {
  json out = json::object();
  for (const auto& [k, c] : m) out[k] = CountsToJson(c);
  return out;
}
json OptionalString(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }
}  // namespace

json BlockersToJson(const std::vector<Blocker>& blockers) {
  json out = json::array();
  for (const auto& b : blockers) out.push_back({{"code", b.code}, {"message", b.message}});
  return out;
}

json IntakeToJson(const Intake& in) {
  json by_name = json::object();
  for (const auto& [name, n] : in.by_name) by_name[name] = n;
  json by_kind = json::object();
  for (const auto& [kind, n] : in.by_kind) by_kind[kind] = n;
  return json{{"window_seconds", in.window_ms / 1000.0},
              {"started", in.started},
              {"last_started_at", in.last_started_at_ms ? json(FormatTimestamp(*in.last_started_at_ms)) : json(nullptr)},
              {"by_name", by_name},
              {"by_kind", by_kind}};
}

json VersionToJson(const VersionReport& v, int64_t as_of_ms) {
  json out{
      {"version", v.version},
      {"application", OptionalString(v.application)},
      {"known", v.known},
      {"latest", v.latest},
      {"registered_at", v.registered_at_ms ? json(FormatTimestamp(*v.registered_at_ms)) : json(nullptr)},
      {"patching", v.patching},
      {"drained", v.drained},
      {"reason", OptionalString(v.reason)},
      {"note", OptionalString(v.note)},
      {"summary", SummaryLine(v, as_of_ms)},
      {"in_flight", CountsToJson(v.in_flight)},
      {"not_queued", CountsToJson(v.not_queued)},
      {"queues", CountsMap(v.queues)},
      {"executors", CountsMap(v.executors)},
      {"unassigned_in_flight", v.unassigned_in_flight},
      {"unknown_statuses", v.unknown_statuses},
      {"safe_to_retire", v.safe_to_retire},
      {"blockers", BlockersToJson(v.blockers)},
      {"phase", PhaseName(v.phase)},
      {"intake", IntakeToJson(v.intake)},
      {"retire_hold", v.retire_hold},
      {"finished_in_window", v.finished_in_window ? json(*v.finished_in_window) : json(nullptr)},
      {"eta_seconds", v.eta_seconds ? json(*v.eta_seconds) : json(nullptr)},
      {"drained_since", v.drained_since_ms ? json(FormatTimestamp(*v.drained_since_ms)) : json(nullptr)},
  };
  // Each executor's counts gain `connected`: true, false, or null when it cannot be told.
  for (auto& [executor, counts] : out["executors"].items()) {
    auto it = v.executor_connected.find(executor);
    counts["connected"] = it == v.executor_connected.end() ? json(nullptr) : json(it->second);
  }
  if (v.connectivity_known) {
    out["connected_executors"] = json(std::vector<std::string>(v.connected_executors.begin(), v.connected_executors.end()));
  } else {
    out["connected_executors"] = nullptr;
  }
  if (v.oldest_in_flight_ms) {
    out["oldest_in_flight_at"] = FormatTimestamp(*v.oldest_in_flight_ms);
    out["oldest_in_flight_age_seconds"] =
        (v.oldest_in_flight_age_ms ? *v.oldest_in_flight_age_ms : std::max<int64_t>(0, as_of_ms - *v.oldest_in_flight_ms)) /
        1000.0;
  } else {
    out["oldest_in_flight_at"] = nullptr;
    out["oldest_in_flight_age_seconds"] = nullptr;
  }
  return out;
}

// Issue 15: null on a primary; on a standby, its lag and what it was computed from.
json ReplicaToJson(const ReplicaAssessment& a) {
  if (!a.standby) return nullptr;
  const auto& o = a.observed;
  auto opt_ms = [](const std::optional<int64_t>& ms) { return ms ? json(FormatTimestamp(*ms)) : json(nullptr); };
  return json{
      {"state", a.state},
      {"lag_seconds", a.lag_seconds ? json(*a.lag_seconds) : json(nullptr)},
      {"max_lag_seconds", static_cast<double>(a.max_lag_ms) / 1000.0},
      {"within_bound", a.fresh},
      {"reason", OptionalString(a.reason)},
      {"replay_paused", o.replay_paused},
      {"receive_lsn", OptionalString(o.receive_lsn)},
      {"replay_lsn", OptionalString(o.replay_lsn)},
      {"last_replay_at", opt_ms(o.last_replay_ms)},
      {"receiver_running", o.receiver_running},
      {"receiver_status", OptionalString(o.receiver_status)},
      {"receiver_last_message_at", opt_ms(o.last_message_ms)},
      {"read_at", FormatTimestamp(o.now_ms)},
  };
}

json ReportToJson(const Report& r, Listing listing) {
  json schema{
      {"name", r.shape.schema},
      {"database", r.shape.database},
      {"migration", r.shape.migration ? json(*r.shape.migration) : json(nullptr)},
      {"newest_known_migration", kNewestKnownMigration},
      {"migration_newer_than_known", r.shape.migration_newer_than_known()},
      {"has_application_versions", r.shape.has_application_versions},
      {"has_queues", r.shape.has_queues},
      {"has_application_name", r.shape.has_application_name},
      {"has_delay_until", r.shape.has_delay_until},
  };
  json unassigned = CountsToJson(r.unassigned);
  unassigned["queues"] = CountsMap(r.unassigned_queues);
  unassigned["unknown_statuses"] = r.unassigned_unknown_statuses;
  json versions = json::array();
  for (const auto& v : r.versions) {
    if (Shown(v, listing)) versions.push_back(VersionToJson(v, r.as_of_ms));
  }
  json doc{
      {"as_of", FormatTimestamp(r.as_of_ms)},
      {"standby", r.replica.standby},
      {"replica", ReplicaToJson(r.replica)},
      {"through_pooler", r.through_pooler},
      {"application", OptionalString(r.application)},
      {"application_filter_ignored", r.application_filter_ignored},
      {"schema", schema},
      {"latest_version", OptionalString(r.latest_version)},
      {"latest_by_application", r.latest_by_application},
      {"quiet_period_seconds", r.quiet_period_ms / 1000.0},
      {"statuses_checked_at", r.statuses_checked_at_ms ? json(FormatTimestamp(*r.statuses_checked_at_ms)) : json(nullptr)},
      {"statuses_unchecked", r.statuses_unchecked},
      {"unassigned", unassigned},
      {"hidden_versions", HiddenBy(r, listing)},
      {"listing", ListingName(listing)},
      {"show_recent_seconds", r.show_recent_ms / 1000.0},
  };
  // Moved in, not listed above: an initializer list copies its elements, and `versions` is most
  // of the document (1,000 entries with ?all=true).
  doc["versions"] = std::move(versions);
  return doc;
}

std::string DumpJson(const json& document, int indent) {
  return document.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace dbos_drain
