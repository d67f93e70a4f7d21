// The default listing (lib/core/version_listing.h) and how the JSON, the table, /metrics and the
// route follow it, without a database.
#include <catch2/catch.hpp>

#include <set>

#include "drain_policy.h"
#include "flagger_gate.h"
#include "http_route.h"
#include "policy_fixtures.h"
#include "prometheus_parse.h"
#include "prometheus_text.h"
#include "promotion_gate.h"
#include "report_json.h"
#include "report_table.h"
#include "version_listing.h"

using namespace dbos_drain;
using namespace dbos_drain::unit;
using nlohmann::json;
using S = InFlightStatus;

namespace {

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;

IntakeGroup Started(const std::string& version, int64_t count, int64_t last_ms) {
  IntakeGroup g;
  g.version = version;
  g.name = "checkout";
  g.count = count;
  g.last_created_at_ms = last_ms;
  return g;
}

FinishGroup Finished(const std::string& version, int64_t count, int64_t last_ms) {
  FinishGroup f;
  f.version = version;
  f.count = count;
  f.last_completed_at_ms = last_ms;
  return f;
}

// One version of each kind the rule tells apart, on the newest shape.
Snapshot Mixed() {
  Snapshot s = MakeSnapshot();
  Register(s, "old-drained", kNow - 3 * kDay);       // hidden: safe, old, quiet
  Register(s, "old-drained-2", kNow - 2 * kDay);     // hidden
  Register(s, "old-busy", kNow - 3 * kDay);          // in flight
  Register(s, "old-intake", kNow - 3 * kDay);        // started within the quiet period
  Register(s, "old-finished", kNow - 3 * kDay);      // safe, but finished within the quiet period
  Register(s, kPatchingVersion, kNow - 3 * kDay);    // patching: never safe
  Register(s, "recent", kNow - 2 * kHour);           // safe, registered within 24h
  Register(s, "latest", kNow - kHour);
  s.groups.push_back(Group("old-busy", S::kPending, 2, "tasks"));
  s.groups.push_back(Group(std::nullopt, S::kEnqueued, 5, "tasks", ""));  // unassigned: the latest's
  s.intake.push_back(Started("old-intake", 1, kNow - 30'000));
  s.finished.push_back(Finished("old-finished", 3, kNow - 60'000));
  s.finished.push_back(Finished("old-intake", 1, kNow - 20'000));
  s.versions_with_history = {"history-only"};  // known from workflow history only, nothing in flight
  return s;
}

std::set<std::string> Names(const json& versions) {
  std::set<std::string> out;
  for (const auto& v : versions) out.insert(v.at("version").get<std::string>());
  return out;
}

const std::set<std::string> kListed = {"old-busy", "old-intake", "old-finished", kPatchingVersion, "recent", "latest"};
const std::set<std::string> kHidden = {"old-drained", "old-drained-2", "history-only"};

}  // namespace

TEST_CASE("listing: the rule, case by case", "[listing]") {
  VersionReport v;
  v.version = "v";
  v.safe_to_retire = true;
  v.registered_at_ms = kNow - 2 * kDay;
  CHECK_FALSE(ListedByDefault(v, kNow, kDay));

  SECTION("not safe to retire: listed, however old") {
    v.safe_to_retire = false;
    CHECK(ListedByDefault(v, kNow, kDay));
  }
  SECTION("registered within the recent window (its start included): listed") {
    v.registered_at_ms = kNow - kDay;
    CHECK(ListedByDefault(v, kNow, kDay));
    v.registered_at_ms = kNow - kDay - 1;
    CHECK_FALSE(ListedByDefault(v, kNow, kDay));
    CHECK(ListedByDefault(v, kNow, kDay + 1));  // a longer --show-recent brings it back
  }
  SECTION("never registered (known from history only): hidden when safe and quiet") {
    v.registered_at_ms.reset();
    CHECK_FALSE(ListedByDefault(v, kNow, kDay));
  }
  SECTION("something finished within the quiet period: listed; none, or not known: hidden") {
    v.finished_in_window = 1;
    CHECK(ListedByDefault(v, kNow, kDay));
    v.finished_in_window = 0;
    CHECK_FALSE(ListedByDefault(v, kNow, kDay));
    v.finished_in_window.reset();
    CHECK_FALSE(ListedByDefault(v, kNow, kDay));
  }
  CHECK(std::string(ListingName(Listing::kDefault)) == "default");
  CHECK(std::string(ListingName(Listing::kAll)) == "all");
  CHECK(std::string(ListingName(Listing::kNamed)) == "named");
}

TEST_CASE("listing: BuildReport marks every version and counts the hidden ones", "[listing]") {
  Report r = BuildReport(Mixed(), {});
  CHECK(r.show_recent_ms == kDay);  // the default --show-recent
  std::set<std::string> listed, hidden;
  for (const auto& v : r.versions) (v.listed ? listed : hidden).insert(v.version);
  CHECK(listed == kListed);
  CHECK(hidden == kHidden);
  CHECK(r.hidden_versions == kHidden.size());
  // The report itself still holds every version with its verdict: hiding is not a verdict.
  REQUIRE(r.Find("old-drained"));
  CHECK(r.Find("old-drained")->safe_to_retire);
  CHECK(r.Find("old-finished")->safe_to_retire);  // listed although safe: it just finished work
  // A version nobody has seen is synthesized as unknown, and is listed (never safe).
  CHECK(FindVersion(r, "typo", {}).listed);

  SECTION("--show-recent moves the boundary") {
    PolicyOptions shorter;
    shorter.show_recent_ms = kHour;  // "recent" (2h) is no longer recent
    Report s = BuildReport(Mixed(), shorter);
    CHECK_FALSE(s.Find("recent")->listed);
    CHECK(s.Find("latest")->listed);  // the latest always is
    CHECK(s.hidden_versions == kHidden.size() + 1);
    PolicyOptions longer;
    longer.show_recent_ms = 4 * kDay;  // every registration is recent; only history-only stays hidden
    Report l = BuildReport(Mixed(), longer);
    CHECK(l.hidden_versions == 1);
    CHECK_FALSE(l.Find("history-only")->listed);
  }
  SECTION("a standby too far behind: nothing is safe, so nothing is hidden") {
    Snapshot s = Mixed();
    s.standby.in_recovery = true;  // lag unknown: no verdict drawn from it
    Report behind = BuildReport(s, {});
    CHECK(behind.hidden_versions == 0);
    for (const auto& v : behind.versions) CHECK(v.listed);
  }
}

TEST_CASE("listing: the JSON document holds the listed versions, says how many it hid", "[listing][json]") {
  Report r = BuildReport(Mixed(), {});
  json d = ReportToJson(r);
  CHECK(d.at("listing") == "default");
  CHECK(d.at("hidden_versions") == kHidden.size());
  CHECK(d.at("show_recent_seconds") == 86400.0);
  CHECK(Names(d.at("versions")) == kListed);
  // Top-level totals are the whole report's, not the listing's.
  CHECK(d.at("unassigned").at("total") == 5);
  CHECK(d.at("latest_version") == "latest");

  json all = ReportToJson(r, Listing::kAll);
  CHECK(all.at("listing") == "all");
  CHECK(all.at("hidden_versions") == 0);
  CHECK(all.at("versions").size() == r.versions.size());
  CHECK(all.at("unassigned") == d.at("unassigned"));
  // Every entry is the same one encoding whichever listing carries it.
  for (const auto& v : d.at("versions")) {
    for (const auto& w : all.at("versions")) {
      if (w.at("version") == v.at("version")) CHECK(w == v);
    }
  }

  Report named = r;
  named.versions = {*r.Find("old-drained")};  // what status V... puts there
  json n = ReportToJson(named, Listing::kNamed);
  CHECK(n.at("listing") == "named");
  CHECK(n.at("hidden_versions") == 0);
  CHECK(Names(n.at("versions")) == std::set<std::string>{"old-drained"});
}

TEST_CASE("listing: the table says how many versions it hid and how to see them", "[listing][table]") {
  Report r = BuildReport(Mixed(), {});
  std::vector<VersionReport> shown;
  for (const auto& v : r.versions) {
    if (v.listed) shown.push_back(v);
  }
  std::string t = FormatReportTable(r, shown, r.hidden_versions);
  INFO(t);
  CHECK(t.find("\nold-busy ") != std::string::npos);
  CHECK(t.find("old-drained") == std::string::npos);
  const std::string last =
      "3 versions hidden: safe to retire, not registered within --show-recent 24h, nothing finished within the "
      "quiet period; --all shows them\n";
  REQUIRE(t.size() > last.size());
  CHECK(t.substr(t.size() - last.size()) == last);

  std::string all = FormatReportTable(r, r.versions, 0);
  CHECK(all.find("\nold-drained ") != std::string::npos);
  CHECK(all.find("hidden") == std::string::npos);

  // Every version hidden: no "no versions registered" line, which would be false.
  Snapshot quiet = MakeSnapshot();
  Register(quiet, "gone", kNow - 3 * kDay);
  Report q = BuildReport(quiet, {});  // the only version is the latest: listed
  CHECK(q.hidden_versions == 0);
  q.versions.front().listed = false;
  std::string none = FormatReportTable(q, {}, 1);
  INFO(none);
  CHECK(none.find("no versions registered") == std::string::npos);
  CHECK(none.find("1 version hidden: ") != std::string::npos);
  CHECK(none.find("--all shows it\n") != std::string::npos);
}

TEST_CASE("listing: /metrics has series for the listed versions only, and counts both", "[listing][metrics]") {
  Report r = BuildReport(Mixed(), {});
  PrometheusInput in;
  in.report = &r;
  in.database_up = true;
  in.build_version = "0.1.0";
  auto e = prom::ParseExposition(EncodePrometheus(in));
  CHECK(e.Value("dbos_drain_versions", {{"listing", "listed"}}) == static_cast<double>(kListed.size()));
  CHECK(e.Value("dbos_drain_versions", {{"listing", "hidden"}}) == static_cast<double>(kHidden.size()));
  std::set<std::string> with_series;
  for (const auto& s : e.samples) {
    auto it = s.labels.find("version");
    if (it != s.labels.end() && s.name != "dbos_drain_build_info") with_series.insert(it->second);
  }
  CHECK(with_series == kListed);
  CHECK(e.Value("dbos_drain_version_safe_to_retire", {{"version", "old-finished"}}) == 1.0);
  CHECK(e.Value("dbos_drain_version_in_flight_workflows", {{"version", "old-busy"}, {"queue", "tasks"}, {"status", "pending"}}) == 2.0);
  // Queue and unassigned totals still count every version's rows.
  CHECK(e.Value("dbos_drain_queue_in_flight_workflows", {{"queue", "tasks"}, {"status", "pending"}}) == 2.0);
  CHECK(e.Value("dbos_drain_unassigned_workflows", {{"queue", "tasks"}, {"status", "enqueued"}}) == 5.0);
}

TEST_CASE("listing: 1,000 long-drained versions do not grow /metrics or the default document", "[listing][metrics][json]") {
  Snapshot few = Mixed();
  Snapshot many = Mixed();
  for (int i = 0; i < 1000; ++i) Register(many, "drained-" + std::to_string(i), kNow - 10 * kDay + i);
  Report rf = BuildReport(few, {});
  Report rm = BuildReport(many, {});
  REQUIRE(rm.hidden_versions == kHidden.size() + 1000);
  PrometheusInput in;
  in.database_up = true;
  in.report = &rf;
  const std::string metrics_few = EncodePrometheus(in);
  in.report = &rm;
  const std::string metrics_many = EncodePrometheus(in);
  // Only the dbos_drain_versions{listing="hidden"} value differs ("3" vs "1003").
  CHECK(metrics_many.size() == metrics_few.size() + 3);
  CHECK(DumpJson(ReportToJson(rm)).size() == DumpJson(ReportToJson(rf)).size() + 3);
  CHECK(DumpJson(ReportToJson(rm, Listing::kAll)).size() > DumpJson(ReportToJson(rf)).size() + 1000 * 500);
}

TEST_CASE("route: GET /v1/versions?all=true|false; other values are a 400, other parameters ignored", "[listing][route]") {
  CHECK_FALSE(RouteRequest("GET", "/v1/versions").all);
  CHECK(RouteRequest("GET", "/v1/versions?all=true").all);
  CHECK(RouteRequest("GET", "/v1/versions/?all=true").kind == RouteKind::kBadRequest);  // an empty {version}, as ever
  CHECK(RouteRequest("HEAD", "/v1/versions?all=true").all);
  CHECK_FALSE(RouteRequest("GET", "/v1/versions?all=false").all);
  CHECK_FALSE(RouteRequest("GET", "/v1/versions?all=true&all=false").all);  // the last one wins
  Route other = RouteRequest("GET", "/v1/versions?page=2&all=true&x");
  CHECK(other.kind == RouteKind::kVersions);
  CHECK(other.all);
  CHECK(RouteRequest("GET", "/v1/versions?verbose=1").kind == RouteKind::kVersions);
  for (const char* bad : {"/v1/versions?all", "/v1/versions?all=", "/v1/versions?all=1", "/v1/versions?all=TRUE",
                          "/v1/versions?all=yes", "/v1/versions?all=true%00", "/v1/versions?all=%zz"}) {
    INFO(bad);
    Route r = RouteRequest("GET", bad);
    CHECK(r.kind == RouteKind::kBadRequest);
    CHECK(r.error.find("all parameter takes true or false") != std::string::npos);
  }
  // The method is checked first, as on every route.
  CHECK(RouteRequest("POST", "/v1/versions?all=maybe").kind == RouteKind::kMethodNotAllowed);
  // The single-version route takes no parameter; ?all there is ignored like any other.
  Route one = RouteRequest("GET", "/v1/versions/v1?all=maybe");
  CHECK(one.kind == RouteKind::kVersion);
  CHECK(one.name == "v1");
}

TEST_CASE("listing: Flagger's all-but-latest leaves out the hidden versions, which cannot change its verdict", "[listing][flagger]") {
  GatePayload payload;  // no metadata.version: every version but the latest
  Report r = BuildReport(Mixed(), {});
  auto selected = SelectGateVersions(payload, r);
  REQUIRE(std::holds_alternative<GateSelection>(selected));
  const GateSelection& s = std::get<GateSelection>(selected);
  CHECK(s.all_but_latest);
  CHECK(s.hidden == kHidden.size());
  std::set<std::string> selected_names(s.versions.begin(), s.versions.end());
  std::set<std::string> expected = kListed;
  expected.erase("latest");
  CHECK(selected_names == expected);
  GateVerdict v = DecideGate(s, r, {});
  CHECK_FALSE(v.safe_to_retire);  // old-busy and the others still hold it, as before

  // Only safe versions besides the latest: promote, and say how many were not listed.
  Snapshot quiet = MakeSnapshot();
  Register(quiet, "old-1", kNow - 3 * kDay);
  Register(quiet, "old-2", kNow - 3 * kDay + 1);
  Register(quiet, "recent", kNow - kHour);
  Register(quiet, "latest", kNow - 60'000);
  Report q = BuildReport(quiet, {});
  auto qs = std::get<GateSelection>(SelectGateVersions(payload, q));
  CHECK(qs.versions == std::vector<std::string>{"recent"});
  CHECK(qs.hidden == 2);
  GateVerdict qv = DecideGate(qs, q, {});
  CHECK(qv.safe_to_retire);
  INFO(qv.summary);
  CHECK(qv.summary.find("; and 2 long-drained versions (safe to retire, not listed)") != std::string::npos);
  // The same versions named in metadata.version are judged, hidden or not.
  GatePayload named;
  named.versions = {"old-1", "old-2"};
  auto ns = std::get<GateSelection>(SelectGateVersions(named, q));
  CHECK(ns.versions == named.versions);
  CHECK(ns.hidden == 0);
  CHECK(DecideGate(ns, q, {}).versions.size() == 2);

  // Every other version hidden: nothing selected, still safe, and the message says why.
  Snapshot gone = MakeSnapshot();
  Register(gone, "old-1", kNow - 3 * kDay);
  Register(gone, "latest", kNow - 60'000);
  Report g = BuildReport(gone, {});
  auto gs = std::get<GateSelection>(SelectGateVersions(payload, g));
  CHECK(gs.versions.empty());
  GateVerdict gv = DecideGate(gs, g, {});
  CHECK(gv.safe_to_retire);
  CHECK(gv.summary == "nothing to retire: latest is the latest version and the 1 other version is long drained (safe to retire, not listed)");
}
