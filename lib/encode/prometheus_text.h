// GET /metrics as Prometheus' text exposition format 0.0.4, as a pure function of the report and
// dbos-drain's own counters. No I/O: serve/metrics_endpoint.cc gathers the inputs.
//
// Families (every name prefixed dbos_drain_; units in the name; counters end in _total):
//   build_info{version}                                 gauge, always 1
//   database_up                                         gauge 0/1
//   last_successful_read_timestamp_seconds              gauge (absent until the first success)
//   report_query_duration_seconds                       histogram
//   report_read_errors_total{code}                      counter (absent until the first error)
//   http_requests_total{route,code}                     counter
//   max_replica_lag_seconds                             gauge (--max-replica-lag; issue 15)
//   Only with a report (within the staleness bound):
//   report_age_seconds                                  gauge
//   database_standby                                    gauge 0/1 (issue 15)
//   replica_lag_seconds                                 gauge (standby only; +Inf when unknown)
//   versions{listing}                                   gauge: listing="listed"|"hidden" (issue 13)
//   The version_* and executor_* series below exist only for the listed versions (the default
//   listing, core/version_listing.h); a hidden version is safe to retire and has none.
//   version_in_flight_workflows{version,queue,status}   gauge
//   version_drained{version}                            gauge
//   version_latest{version}                             gauge
//   version_oldest_in_flight_age_seconds{version}       gauge
//   quiet_period_seconds                                gauge (issue 12, the retire verdict:)
//   version_safe_to_retire{version}                     gauge 0/1
//   version_phase{version,phase}                        gauge, 1 for the current phase, 0 others
//   version_retire_hold{version}                        gauge
//   version_intake_started_workflows{version}           gauge
//   version_eta_seconds{version}                        gauge (absent when unknown)
//   executor_connected{version,executor}                gauge 0/1 (absent when unknown)
//   queue_in_flight_workflows{queue,status}             gauge
//   queue_worker_concurrency{queue}                     gauge (where the queues table has it)
//   queue_concurrency{queue}                            gauge (where the queues table has it)
//   unassigned_workflows{queue,status}                  gauge
// status is pending|enqueued|delayed; queue="" means not queued.
#pragma once

#include <string>
#include <string_view>

#include "model.h"
#include "service_counters.h"

namespace dbos_drain {

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

struct PrometheusInput {
  const Report* report = nullptr;  // null: no report to show (database unreadable past the bound)
  double report_age_seconds = 0;
  bool database_up = false;
  ServiceCounters service;
  std::string build_version;
  double max_replica_lag_seconds = 0;  // --max-replica-lag; 0: not shown
  // The database budget (issue 13): the effective refresh interval and staleness bound (of the
  // served report, else the configured ones), whether the budget stretched them, and the time
  // spent in report reads so far.
  double refresh_interval_seconds = 0;
  double staleness_bound_seconds = 0;
  bool refresh_throttled = false;
  double report_database_seconds_total = 0;
};

std::string EncodePrometheus(const PrometheusInput& input);

// A label value with '\\', '"' and newline escaped, and invalid UTF-8 replaced by U+FFFD.
std::string EscapeLabelValue(std::string_view value);

// A sample value: integers without a fraction, others in the shortest exact form, "+Inf",
// "-Inf", "NaN".
std::string FormatSampleValue(double value);

}  // namespace dbos_drain
