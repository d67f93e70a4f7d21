#include "prometheus_text.h"

#include <limits>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>
#include <vector>

#include "text_format.h"

namespace dbos_drain {
namespace {

using Labels = std::vector<std::pair<const char*, std::string>>;

class Writer {
 public:
  // Starts a family: HELP and TYPE lines.
  void Family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;  // constant text without '\\' or newlines
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void Sample(const char* name, const Labels& labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        out_ += EscapeLabelValue(v);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += FormatSampleValue(value);
    out_ += '\n';
  }

  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

void StatusSamples(Writer& w, const char* name, Labels labels, const StatusCounts& c) {
  labels.emplace_back("status", "");
  const std::pair<const char*, int64_t> parts[] = {{"pending", c.pending}, {"enqueued", c.enqueued}, {"delayed", c.delayed},
                                                   {"suspended", c.suspended}};
  for (const auto& [status, n] : parts) {
    labels.back().second = status;
    w.Sample(name, labels, static_cast<double>(n));
  }
}

void SelfMetrics(Writer& w, const PrometheusInput& in) {
  w.Family("dbos_drain_build_info", "gauge", "Build information of dbos-drain; always 1.");
  w.Sample("dbos_drain_build_info", {{"version", in.build_version}}, 1);

  if (in.max_replica_lag_seconds > 0) {
    w.Family("dbos_drain_max_replica_lag_seconds", "gauge",
             "--max-replica-lag: a standby further behind gives no drained verdict.");
    w.Sample("dbos_drain_max_replica_lag_seconds", {}, in.max_replica_lag_seconds);
  }

  w.Family("dbos_drain_database_up", "gauge",
           "1 when the last read of the DBOS system database succeeded and its report is served, else 0.");
  w.Sample("dbos_drain_database_up", {}, in.database_up ? 1 : 0);

  const auto& s = in.service;
  if (s.last_success_unix_seconds) {
    w.Family("dbos_drain_last_successful_read_timestamp_seconds", "gauge",
             "Unix time of the last successful read of the system database.");
    w.Sample("dbos_drain_last_successful_read_timestamp_seconds", {}, *s.last_success_unix_seconds);
  }

  w.Family("dbos_drain_report_query_duration_seconds", "histogram",
           "Duration of successful report reads from the system database.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kQueryBuckets.size(); ++i) {
    cumulative += s.query.buckets[i];
    w.Sample("dbos_drain_report_query_duration_seconds_bucket",
             {{"le", FormatSampleValue(kQueryBuckets[i])}}, static_cast<double>(cumulative));
  }
  w.Sample("dbos_drain_report_query_duration_seconds_bucket", {{"le", "+Inf"}}, static_cast<double>(s.query.count));
  w.Sample("dbos_drain_report_query_duration_seconds_sum", {}, s.query.sum_seconds);
  w.Sample("dbos_drain_report_query_duration_seconds_count", {}, static_cast<double>(s.query.count));

  w.Family("dbos_drain_refresh_interval_seconds", "gauge",
           "Effective refresh interval: --refresh, or longer when --max-db-share stretched it.");
  w.Sample("dbos_drain_refresh_interval_seconds", {}, in.refresh_interval_seconds);
  w.Family("dbos_drain_report_staleness_bound_seconds", "gauge",
           "No report older than this is served (--max-staleness, stretched with the refresh interval).");
  w.Sample("dbos_drain_report_staleness_bound_seconds", {}, in.staleness_bound_seconds);
  w.Family("dbos_drain_refresh_throttled", "gauge", "1 when the database budget (--max-db-share) stretched the refresh interval.");
  w.Sample("dbos_drain_refresh_throttled", {}, in.refresh_throttled ? 1 : 0);
  w.Family("dbos_drain_report_database_seconds_total", "counter", "Time spent in report reads of the system database, failed ones included.");
  w.Sample("dbos_drain_report_database_seconds_total", {}, in.report_database_seconds_total);

  if (!s.read_errors_by_code.empty()) {
    w.Family("dbos_drain_report_read_errors_total", "counter",
             "Failed reads of the system database, by error code (docs/report-format.md).");
    for (const auto& [code, n] : s.read_errors_by_code) {
      w.Sample("dbos_drain_report_read_errors_total", {{"code", code}}, static_cast<double>(n));
    }
  }

  if (!s.requests.empty()) {
    w.Family("dbos_drain_http_requests_total", "counter", "HTTP requests answered, by route and status code.");
    for (const auto& [key, n] : s.requests) {
      w.Sample("dbos_drain_http_requests_total", {{"route", key.first}, {"code", std::to_string(key.second)}},
               static_cast<double>(n));
    }
  }
}

using Versions = std::vector<const VersionReport*>;

// The versions that get per-version series: the default listing (core/version_listing.h), so
// 1,000 long-drained versions do not make every scrape carry 1,000 x ~20 series.
Versions ListedVersions(const Report& r) {
  Versions out;
  out.reserve(r.versions.size());
  for (const auto& v : r.versions) {
    if (v.listed) out.push_back(&v);
  }
  return out;
}

// Issue 12: the retire verdict, from the same report.
void RetireMetrics(Writer& w, const Report& r, const Versions& versions) {
  w.Family("dbos_drain_quiet_period_seconds", "gauge",
           "--quiet-period: a version is safe to retire only when no workflow of it started within this window.");
  w.Sample("dbos_drain_quiet_period_seconds", {}, r.quiet_period_ms / 1000.0);

  w.Family("dbos_drain_version_safe_to_retire", "gauge",
           "1 when the version is safe to retire (known, not latest, not patching, nothing in flight, not stuck, no "
           "start within the quiet period), else 0.");
  for (const VersionReport* vp : versions) {
    const VersionReport& v = *vp;
    w.Sample("dbos_drain_version_safe_to_retire", {{"version", v.version}}, v.safe_to_retire ? 1 : 0);
  }
  w.Family("dbos_drain_version_phase", "gauge",
           "1 for the version's current phase (latest, active, draining, stuck, drained, unknown), 0 for the others.");
  for (const VersionReport* vp : versions) {
    const VersionReport& v = *vp;
    for (Phase p : kAllPhases) {
      w.Sample("dbos_drain_version_phase", {{"version", v.version}, {"phase", PhaseName(p)}}, v.phase == p ? 1 : 0);
    }
  }
  w.Family("dbos_drain_version_retire_hold", "gauge",
           "0 exactly when the version is safe to retire, else in flight + started within the quiet period (at least "
           "1): the value to scale the version's Deployment on.");
  for (const VersionReport* vp : versions) {
    const VersionReport& v = *vp;
    w.Sample("dbos_drain_version_retire_hold", {{"version", v.version}}, static_cast<double>(v.retire_hold));
  }
  w.Family("dbos_drain_version_intake_started_workflows", "gauge",
           "Workflows of the version created within the quiet period (by created_at, against the database's now()).");
  for (const VersionReport* vp : versions) {
    const VersionReport& v = *vp;
    w.Sample("dbos_drain_version_intake_started_workflows", {{"version", v.version}},
             static_cast<double>(v.intake.started));
  }
  bool any_eta = false;
  for (const VersionReport* v : versions) any_eta = any_eta || v->eta_seconds.has_value();
  if (any_eta) {
    w.Family("dbos_drain_version_eta_seconds", "gauge",
             "Estimated seconds until the version is safe to retire, assuming no new start (absent when unknown).");
    for (const VersionReport* vp : versions) {
      const VersionReport& v = *vp;
      if (v.eta_seconds) w.Sample("dbos_drain_version_eta_seconds", {{"version", v.version}}, *v.eta_seconds);
    }
  }
  bool any_connected = false;
  for (const VersionReport* v : versions) any_connected = any_connected || !v->executor_connected.empty();
  if (any_connected) {
    w.Family("dbos_drain_executor_connected", "gauge",
             "1 when an executor with in-flight work of the version has a database session (TypeScript SDK session "
             "names), 0 when not; absent when it cannot be told (Python, Go, a custom pool).");
    for (const VersionReport* vp : versions) {
      const VersionReport& v = *vp;
      for (const auto& [executor, connected] : v.executor_connected) {
        w.Sample("dbos_drain_executor_connected", {{"version", v.version}, {"executor", executor}}, connected ? 1 : 0);
      }
    }
  }
}

void ReportMetrics(Writer& w, const Report& r, double age_seconds) {
  w.Family("dbos_drain_report_age_seconds", "gauge", "Age of the report the version and queue series come from.");
  w.Sample("dbos_drain_report_age_seconds", {}, age_seconds);

  const Versions versions = ListedVersions(r);
  w.Family("dbos_drain_versions", "gauge",
           "Versions of the report: listed (with per-version series) and hidden (safe to retire, not registered "
           "within --show-recent, nothing finished within the quiet period; GET /v1/versions?all=true shows them).");
  w.Sample("dbos_drain_versions", {{"listing", "listed"}}, static_cast<double>(versions.size()));
  w.Sample("dbos_drain_versions", {{"listing", "hidden"}}, static_cast<double>(r.versions.size() - versions.size()));

  // Issue 22: a migration level above the newest tested is read (the shape check decides) and said.
  if (r.shape.migration) {
    w.Family("dbos_drain_schema_migration", "gauge", "dbos_migrations.version of the system database read.");
    w.Sample("dbos_drain_schema_migration", {}, static_cast<double>(*r.shape.migration));
  }
  w.Family("dbos_drain_schema_newer_than_known", "gauge",
           "1 when the schema's migration level is above the newest dbos-drain was tested with, else 0 (not a blocker).");
  w.Sample("dbos_drain_schema_newer_than_known", {}, r.shape.migration_newer_than_known() ? 1 : 0);

  // Issue 15. The lag is +Inf on a standby that cannot tell it (no verdict is drawn from it).
  w.Family("dbos_drain_database_standby", "gauge", "1 when the database read is a hot standby (in recovery), else 0.");
  w.Sample("dbos_drain_database_standby", {}, r.replica.standby ? 1 : 0);
  if (r.replica.standby) {
    w.Family("dbos_drain_replica_lag_seconds", "gauge",
             "How far the standby's data is behind (an upper bound); +Inf when unknown. Absent on a primary.");
    w.Sample("dbos_drain_replica_lag_seconds", {},
             r.replica.lag_seconds ? *r.replica.lag_seconds : std::numeric_limits<double>::infinity());
  }

  w.Family("dbos_drain_version_in_flight_workflows", "gauge",
           "Workflows of an application version not finished, by queue (\"\" = not queued) and status. The latest "
           "version includes the unassigned (NULL-version) rows its workers will dequeue.");
  for (const VersionReport* vp : versions) {
    const VersionReport& v = *vp;
    StatusSamples(w, "dbos_drain_version_in_flight_workflows", {{"version", v.version}, {"queue", ""}}, v.not_queued);
    for (const auto& [queue, counts] : v.queues) {
      StatusSamples(w, "dbos_drain_version_in_flight_workflows", {{"version", v.version}, {"queue", queue}}, counts);
    }
  }

  w.Family("dbos_drain_version_drained", "gauge", "1 when the application version has drained, else 0.");
  for (const VersionReport* v : versions) w.Sample("dbos_drain_version_drained", {{"version", v->version}}, v->drained ? 1 : 0);

  w.Family("dbos_drain_version_latest", "gauge",
           "1 for the latest version registered in application_versions, else 0.");
  for (const VersionReport* v : versions) w.Sample("dbos_drain_version_latest", {{"version", v->version}}, v->latest ? 1 : 0);

  w.Family("dbos_drain_version_oldest_in_flight_age_seconds", "gauge",
           "Age of the version's oldest in-flight workflow (by created_at, on the database's clock); 0 when none.");
  for (const VersionReport* vp : versions) {
    const VersionReport& v = *vp;
    const double age = v.oldest_in_flight_age_ms ? *v.oldest_in_flight_age_ms / 1000.0 : 0;
    w.Sample("dbos_drain_version_oldest_in_flight_age_seconds", {{"version", v.version}}, age);
  }

  RetireMetrics(w, r, versions);

  // Issue 22: statuses dbos-drain does not know (a blocker) and when they were last checked.
  w.Family("dbos_drain_version_unknown_status_workflows", "gauge",
           "Workflows of a status dbos-drain does not know (neither finished nor in flight), by version and status; "
           "NULL-version rows count for every version. Any of them blocks the version: upgrade dbos-drain.");
  for (const VersionReport* vp : versions) {
    for (const auto& [status, n] : vp->unknown_statuses) {
      w.Sample("dbos_drain_version_unknown_status_workflows", {{"version", vp->version}, {"status", status}},
               static_cast<double>(n));
    }
  }
  if (r.statuses_checked_at_ms) {
    w.Family("dbos_drain_statuses_checked_timestamp_seconds", "gauge",
             "Database time of the last check for SUSPENDED and unknown statuses the report holds.");
    w.Sample("dbos_drain_statuses_checked_timestamp_seconds", {}, *r.statuses_checked_at_ms / 1000.0);
  }

  if (!r.queues.empty()) {
    w.Family("dbos_drain_queue_in_flight_workflows", "gauge",
             "Workflows in a queue not finished, all versions and unassigned rows together, by status.");
    for (const auto& [name, q] : r.queues) {
      StatusSamples(w, "dbos_drain_queue_in_flight_workflows", {{"queue", name}}, q.in_flight);
    }
  }
  bool any_worker = false, any_global = false;
  for (const auto& [name, q] : r.queues) {
    any_worker = any_worker || q.worker_concurrency.has_value();
    any_global = any_global || q.concurrency.has_value();
  }
  if (any_worker) {
    w.Family("dbos_drain_queue_worker_concurrency", "gauge",
             "The queue's per-worker concurrency from the queues table (absent when not set).");
    for (const auto& [name, q] : r.queues) {
      if (q.worker_concurrency) w.Sample("dbos_drain_queue_worker_concurrency", {{"queue", name}}, *q.worker_concurrency);
    }
  }
  if (any_global) {
    w.Family("dbos_drain_queue_concurrency", "gauge",
             "The queue's global concurrency from the queues table (absent when not set).");
    for (const auto& [name, q] : r.queues) {
      if (q.concurrency) w.Sample("dbos_drain_queue_concurrency", {{"queue", name}}, *q.concurrency);
    }
  }

  w.Family("dbos_drain_unassigned_workflows", "gauge",
           "Workflows with a NULL application version (enqueued by a client, taken by the latest version; by any "
           "version before TS 4.24, Python 2.27, Go 0.19), by "
           "queue (\"\" = not queued) and status.");
  StatusSamples(w, "dbos_drain_unassigned_workflows", {{"queue", ""}}, r.unassigned_not_queued);
  for (const auto& [queue, counts] : r.unassigned_queues) {
    StatusSamples(w, "dbos_drain_unassigned_workflows", {{"queue", queue}}, counts);
  }
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) { return EscapeLine(value, LineStyle::kPrometheusLabel); }

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(value));
    return buf;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

std::string EncodePrometheus(const PrometheusInput& input) {
  Writer w;
  SelfMetrics(w, input);
  if (input.report) ReportMetrics(w, *input.report, input.report_age_seconds);
  return w.Take();
}

}  // namespace dbos_drain
