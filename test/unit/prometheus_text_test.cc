// lib/prometheus_text: the /metrics encoding, without I/O. Every sample is read back with a
// strict parser of the text format and compared with the report it came from.
#include <catch2/catch.hpp>

#include <cmath>

#include "policy_fixtures.h"
#include "drain_policy.h"
#include "prometheus_parse.h"
#include "prometheus_text.h"
#include "service_metrics.h"

namespace dbos_drain {
namespace {

using prom::ParseExposition;
using unit::Group;
using unit::kNow;
using unit::MakeSnapshot;
using unit::Register;

ServiceMetrics::Snapshot SomeService() {
  ServiceMetrics m;
  m.ObserveRead(std::chrono::milliseconds(3), true, "");
  m.ObserveRead(std::chrono::milliseconds(40), true, "");
  m.ObserveRead(std::chrono::milliseconds(7000), true, "");  // beyond the last bucket
  m.ObserveRead(std::chrono::milliseconds(0), false, "query_timeout");
  m.ObserveRead(std::chrono::milliseconds(0), false, "query_timeout");
  m.ObserveRead(std::chrono::milliseconds(0), false, "database_unavailable");
  m.ObserveRead(std::chrono::milliseconds(2), true, "");
  m.CountRequest("/v1/versions/{version}", 200);
  m.CountRequest("/v1/versions/{version}", 200);
  m.CountRequest("/v1/flagger/confirm-promotion", 409);
  return m.Get();
}

const std::string kHostileVersion = "v\"1\\\n2 ü";
const std::string kHostileQueue = "q\"\\\n→";

Report SampleReport() {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", kNow - 3'600'000);
  Register(s, "v2", kNow - 60'000);
  s.queues.push_back({"tasks", 10, 2});
  s.queues.push_back({"idle", std::nullopt, std::nullopt});
  s.groups.push_back(Group("v1", InFlightStatus::kPending, 3, std::nullopt, "w1", kNow - 7'500'000));
  s.groups.push_back(Group("v1", InFlightStatus::kEnqueued, 4, "tasks", "w1", kNow - 60'000));
  s.groups.push_back(Group("v1", InFlightStatus::kDelayed, 1, "tasks", "w1", kNow - 30'000));
  s.groups.push_back(Group("v2", InFlightStatus::kPending, 2, "tasks", "w2", kNow - 5'000));
  s.groups.push_back(Group(std::nullopt, InFlightStatus::kEnqueued, 5, "tasks", ""));
  s.groups.push_back(Group(std::nullopt, InFlightStatus::kEnqueued, 1, std::nullopt, ""));
  s.groups.push_back(Group(kHostileVersion, InFlightStatus::kEnqueued, 6, kHostileQueue, "w3", kNow - 1'000));
  return BuildReport(s, {});
}

}  // namespace

TEST_CASE("prometheus: label values escape backslash, quote and newline", "[metrics]") {
  CHECK(EscapeLabelValue("plain") == "plain");
  CHECK(EscapeLabelValue("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(EscapeLabelValue("ü → 日本") == "ü → 日本");
  CHECK(EscapeLabelValue("tab\there\rcr") == "tab\there\rcr");  // only the three escapes exist
  // Invalid UTF-8 cannot reach Prometheus: replaced, one U+FFFD per bad byte.
  CHECK(EscapeLabelValue("a\xff" "b") == "a\xef\xbf\xbd" "b");
  CHECK(EscapeLabelValue("\xc3") == "\xef\xbf\xbd");               // truncated sequence
  CHECK(EscapeLabelValue("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");  // overlong
  CHECK(EscapeLabelValue("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  CHECK(EscapeLabelValue("\xf4\x90\x80\x80").find("\xef\xbf\xbd") == 0);             // > U+10FFFF
  CHECK(EscapeLabelValue("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");                 // emoji
}

TEST_CASE("prometheus: sample values", "[metrics]") {
  CHECK(FormatSampleValue(0) == "0");
  CHECK(FormatSampleValue(42) == "42");
  CHECK(FormatSampleValue(-3) == "-3");
  CHECK(FormatSampleValue(0.0025) == "0.0025");
  CHECK(FormatSampleValue(7510.5) == "7510.5");
  CHECK(FormatSampleValue(1795683777.25) == "1795683777.25");
  CHECK(FormatSampleValue(1e300) == "1e+300");
  CHECK(FormatSampleValue(INFINITY) == "+Inf");
  CHECK(FormatSampleValue(-INFINITY) == "-Inf");
  CHECK(FormatSampleValue(NAN) == "NaN");
}

TEST_CASE("prometheus: without a report, only dbos-drain's own metrics", "[metrics]") {
  PrometheusInput in;
  in.service = SomeService();
  in.build_version = "1.2.3";
  in.database_up = false;
  const std::string text = EncodePrometheus(in);
  auto e = ParseExposition(text);
  CHECK(e.Value("dbos_drain_database_up") == 0.0);
  CHECK(e.Value("dbos_drain_build_info", {{"version", "1.2.3"}}) == 1.0);
  CHECK(e.Value("dbos_drain_report_read_errors_total", {{"code", "query_timeout"}}) == 2.0);
  CHECK(e.Value("dbos_drain_report_read_errors_total", {{"code", "database_unavailable"}}) == 1.0);
  CHECK_FALSE(e.HasPrefix("dbos_drain_version_"));
  CHECK_FALSE(e.HasPrefix("dbos_drain_queue_"));
  CHECK_FALSE(e.HasPrefix("dbos_drain_unassigned_"));
  CHECK_FALSE(e.HasPrefix("dbos_drain_report_age_"));

  // Nothing observed yet: no timestamp, an empty histogram, no request or error series.
  PrometheusInput fresh;
  fresh.build_version = "x";
  auto f = ParseExposition(EncodePrometheus(fresh));
  CHECK_FALSE(f.Value("dbos_drain_last_successful_read_timestamp_seconds"));
  CHECK(f.Value("dbos_drain_report_query_duration_seconds_count") == 0.0);
  CHECK(f.Value("dbos_drain_report_query_duration_seconds_bucket", {{"le", "+Inf"}}) == 0.0);
  CHECK(f.Find("dbos_drain_http_requests_total").empty());
  CHECK(f.types.count("dbos_drain_http_requests_total") == 0);
}

TEST_CASE("prometheus: self metrics", "[metrics]") {
  PrometheusInput in;
  in.service = SomeService();
  in.build_version = "0.1.0";
  in.database_up = true;
  auto e = ParseExposition(EncodePrometheus(in));
  CHECK(e.types["dbos_drain_report_query_duration_seconds"] == "histogram");
  CHECK(e.types["dbos_drain_http_requests_total"] == "counter");
  CHECK(e.types["dbos_drain_report_read_errors_total"] == "counter");
  CHECK(e.types["dbos_drain_database_up"] == "gauge");
  CHECK(e.Value("dbos_drain_database_up") == 1.0);
  CHECK(e.Value("dbos_drain_http_requests_total", {{"route", "/v1/versions/{version}"}, {"code", "200"}}) == 2.0);
  CHECK(e.Value("dbos_drain_http_requests_total", {{"route", "/v1/flagger/confirm-promotion"}, {"code", "409"}}) == 1.0);

  // Buckets are cumulative, end with +Inf == count; 7 s is only in +Inf.
  CHECK(e.Value("dbos_drain_report_query_duration_seconds_bucket", {{"le", "0.001"}}) == 0.0);
  CHECK(e.Value("dbos_drain_report_query_duration_seconds_bucket", {{"le", "0.0025"}}) == 1.0);
  CHECK(e.Value("dbos_drain_report_query_duration_seconds_bucket", {{"le", "0.005"}}) == 2.0);
  CHECK(e.Value("dbos_drain_report_query_duration_seconds_bucket", {{"le", "0.05"}}) == 3.0);
  CHECK(e.Value("dbos_drain_report_query_duration_seconds_bucket", {{"le", "5"}}) == 3.0);
  CHECK(e.Value("dbos_drain_report_query_duration_seconds_bucket", {{"le", "+Inf"}}) == 4.0);
  CHECK(e.Value("dbos_drain_report_query_duration_seconds_count") == 4.0);
  CHECK(*e.Value("dbos_drain_report_query_duration_seconds_sum") == Approx(7.045));
  auto ts = e.Value("dbos_drain_last_successful_read_timestamp_seconds");
  REQUIRE(ts);
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(std::fabs(*ts - now) < 60);

  // Every family has HELP and TYPE, and every name has the prefix.
  for (const auto& [name, type] : e.types) {
    CHECK(e.helps.count(name) == 1);
    CHECK(name.rfind("dbos_drain_", 0) == 0);
    CHECK((type == "counter") == (name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0));
  }
}

TEST_CASE("prometheus: version, queue and unassigned series match the report", "[metrics]") {
  Report r = SampleReport();
  PrometheusInput in;
  in.report = &r;
  in.report_age_seconds = 0.5;
  in.database_up = true;
  in.build_version = "0.1.0";
  const std::string text = EncodePrometheus(in);
  auto e = ParseExposition(text);

  CHECK(e.Value("dbos_drain_report_age_seconds") == 0.5);
  auto vf = [&](const std::string& v, const std::string& q, const std::string& st) {
    return e.Value("dbos_drain_version_in_flight_workflows", {{"version", v}, {"queue", q}, {"status", st}});
  };
  CHECK(vf("v1", "", "pending") == 3.0);
  CHECK(vf("v1", "", "enqueued") == 0.0);
  CHECK(vf("v1", "tasks", "enqueued") == 4.0);
  CHECK(vf("v1", "tasks", "delayed") == 1.0);
  CHECK(vf("v1", "tasks", "pending") == 0.0);
  // The latest version's numbers include the NULL-version rows its workers will take.
  CHECK(vf("v2", "tasks", "pending") == 2.0);
  CHECK(vf("v2", "tasks", "enqueued") == 5.0);
  CHECK(vf("v2", "", "enqueued") == 1.0);
  CHECK(vf(kHostileVersion, kHostileQueue, "enqueued") == 6.0);
  CHECK_FALSE(vf("v1", "idle", "pending"));  // a version has series only for its own queues

  CHECK(e.Value("dbos_drain_version_drained", {{"version", "v1"}}) == 0.0);
  CHECK(e.Value("dbos_drain_version_latest", {{"version", "v1"}}) == 0.0);
  CHECK(e.Value("dbos_drain_version_latest", {{"version", "v2"}}) == 1.0);
  CHECK(e.Value("dbos_drain_version_latest", {{"version", kHostileVersion}}) == 0.0);
  CHECK(e.Value("dbos_drain_version_oldest_in_flight_age_seconds", {{"version", "v1"}}) == 7500.0);
  CHECK(e.Value("dbos_drain_version_oldest_in_flight_age_seconds", {{"version", "v2"}}) == 60.0);  // unassigned rows: 1m

  auto qf = [&](const std::string& q, const std::string& st) {
    return e.Value("dbos_drain_queue_in_flight_workflows", {{"queue", q}, {"status", st}});
  };
  CHECK(qf("tasks", "pending") == 2.0);
  CHECK(qf("tasks", "enqueued") == 9.0);
  CHECK(qf("tasks", "delayed") == 1.0);
  CHECK(qf("idle", "pending") == 0.0);
  CHECK(qf(kHostileQueue, "enqueued") == 6.0);
  CHECK(e.Value("dbos_drain_queue_worker_concurrency", {{"queue", "tasks"}}) == 2.0);
  CHECK(e.Value("dbos_drain_queue_concurrency", {{"queue", "tasks"}}) == 10.0);
  CHECK_FALSE(e.Value("dbos_drain_queue_worker_concurrency", {{"queue", "idle"}}));
  CHECK_FALSE(e.Value("dbos_drain_queue_concurrency", {{"queue", "idle"}}));

  CHECK(e.Value("dbos_drain_unassigned_workflows", {{"queue", "tasks"}, {"status", "enqueued"}}) == 5.0);
  CHECK(e.Value("dbos_drain_unassigned_workflows", {{"queue", ""}, {"status", "enqueued"}}) == 1.0);
  CHECK(e.Value("dbos_drain_unassigned_workflows", {{"queue", ""}, {"status", "pending"}}) == 0.0);

  // A drained version.
  Snapshot s = MakeSnapshot();
  Register(s, "old", kNow - 100);
  Register(s, "new", kNow);
  Report quiet = BuildReport(s, {});
  in.report = &quiet;
  auto q = ParseExposition(EncodePrometheus(in));
  CHECK(q.Value("dbos_drain_version_drained", {{"version", "old"}}) == 1.0);
  CHECK(q.Value("dbos_drain_version_oldest_in_flight_age_seconds", {{"version", "old"}}) == 0.0);
  CHECK(q.Value("dbos_drain_version_in_flight_workflows", {{"version", "old"}, {"queue", ""}, {"status", "pending"}}) ==
        0.0);
  CHECK(q.Find("dbos_drain_queue_in_flight_workflows").empty());
}

TEST_CASE("prometheus: the hostile names stay on their line", "[metrics]") {
  Report r = SampleReport();
  PrometheusInput in;
  in.report = &r;
  const std::string text = EncodePrometheus(in);
  // Raw newlines only end lines: every line is a comment or starts with the prefix.
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    INFO(line);
    CHECK((line.rfind("# ", 0) == 0 || line.rfind("dbos_drain_", 0) == 0));
    pos = nl + 1;
  }
  CHECK(text.find("version=\"v\\\"1\\\\\\n2 ü\"") != std::string::npos);
  CHECK(text.find("queue=\"q\\\"\\\\\\n→\"") != std::string::npos);
}

}  // namespace dbos_drain
