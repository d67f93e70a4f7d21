#include "report_json.h"

#include "drain_policy.h"

namespace dbos_drain {

using nlohmann::json;

json CountsToJson(const StatusCounts& c) {
  return json{{"pending", c.pending}, {"enqueued", c.enqueued}, {"delayed", c.delayed}, {"total", c.total()}};
}

namespace {
json CountsMap(const std::map<std::string, StatusCounts>& m) {
  json out = json::object();
  for (const auto& [k, c] : m) out[k] = CountsToJson(c);
  return out;
}
json OptionalString(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }
}  // namespace

json VersionToJson(const VersionReport& v, int64_t as_of_ms) {
  json out{
      {"version", v.version},
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
  };
  if (v.oldest_in_flight_ms) {
    out["oldest_in_flight_at"] = FormatTimestamp(*v.oldest_in_flight_ms);
    out["oldest_in_flight_age_seconds"] = std::max<int64_t>(0, as_of_ms - *v.oldest_in_flight_ms) / 1000.0;
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

json ReportToJson(const Report& r) {
  json schema{
      {"name", r.shape.schema},
      {"database", r.shape.database},
      {"migration", r.shape.migration ? json(*r.shape.migration) : json(nullptr)},
      {"has_application_versions", r.shape.has_application_versions},
      {"has_queues", r.shape.has_queues},
      {"has_application_name", r.shape.has_application_name},
      {"has_delay_until", r.shape.has_delay_until},
  };
  json unassigned = CountsToJson(r.unassigned);
  unassigned["queues"] = CountsMap(r.unassigned_queues);
  json versions = json::array();
  for (const auto& v : r.versions) versions.push_back(VersionToJson(v, r.as_of_ms));
  return json{
      {"as_of", FormatTimestamp(r.as_of_ms)},
      {"standby", r.replica.standby},
      {"replica", ReplicaToJson(r.replica)},
      {"application", OptionalString(r.application)},
      {"application_filter_ignored", r.application_filter_ignored},
      {"schema", schema},
      {"latest_version", OptionalString(r.latest_version)},
      {"unassigned", unassigned},
      {"versions", versions},
  };
}

std::string DumpJson(const json& document, int indent) {
  return document.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace dbos_drain
