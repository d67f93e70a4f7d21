// lib/flagger_gate: Flagger's confirm-promotion payload, version selection, verdict and body,
// without I/O.
#include <catch2/catch.hpp>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "flagger_gate.h"
#include "report_json.h"
#include "policy_fixtures.h"

namespace dbos_drain {
namespace {

using nlohmann::json;
using unit::Group;
using unit::kNow;
using unit::MakeSnapshot;
using unit::Register;

// Exactly what Flagger v1.44 marshals (pkg/controller/webhook.go, CanaryWebhookPayload).
const char* kFlaggerPayload =
    R"({"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"85d557f47b","metadata":{"version":"v1"}})";

GatePayload Parse(const std::string& body, const std::string& content_type = "application/json") {
  auto r = ParseGateRequest(content_type, body, false);
  if (auto* e = std::get_if<GateError>(&r)) FAIL("unexpected " << e->status << ": " << e->message);
  return std::get<GatePayload>(r);
}

GateError ParseError(const std::string& body, const std::string& content_type = "application/json",
                     bool too_large = false) {
  auto r = ParseGateRequest(content_type, body, too_large);
  if (std::holds_alternative<GatePayload>(r)) FAIL("expected an error for " << body);
  return std::get<GateError>(r);
}

GatePayload WithVersions(std::vector<std::string> versions) {
  GatePayload p;
  p.name = "podinfo";
  p.namespace_ = "test";
  p.versions = std::move(versions);
  return p;
}

GateSelection Select(const GatePayload& p, const Report& r) {
  auto s = SelectGateVersions(p, r);
  if (auto* e = std::get_if<GateError>(&s)) FAIL("unexpected " << e->status << ": " << e->message);
  return std::get<GateSelection>(s);
}

const int64_t k2h5m = (2 * 3600 + 5 * 60 + 10) * 1000;

// v1 (old) with the issue's example load, v2 latest.
Report TwoVersions() {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", kNow - 3'600'000);
  Register(s, "v2", kNow - 60'000);
  s.groups.push_back(Group("v1", InFlightStatus::kPending, 3, std::nullopt, "w1", kNow - k2h5m));
  s.groups.push_back(Group("v1", InFlightStatus::kEnqueued, 4, "tasks", "w1", kNow - 60'000));
  s.groups.push_back(Group("v2", InFlightStatus::kPending, 2, std::nullopt, "w2", kNow - 1'000));
  return BuildReport(s, {});
}

}  // namespace

TEST_CASE("gate: content type must be application/json, parameters allowed", "[flagger]") {
  CHECK(IsJsonContentType("application/json"));
  CHECK(IsJsonContentType("application/json; charset=utf-8"));
  CHECK(IsJsonContentType("Application/JSON;charset=UTF-8"));
  CHECK(IsJsonContentType("  application/json ; charset=utf-8"));
  CHECK_FALSE(IsJsonContentType(""));
  CHECK_FALSE(IsJsonContentType("text/plain"));
  CHECK_FALSE(IsJsonContentType("application/jsonx"));
  CHECK_FALSE(IsJsonContentType("application/x-www-form-urlencoded"));
  CHECK_FALSE(IsJsonContentType("application/merge-patch+json"));
}

TEST_CASE("gate: parses Flagger's exact payload", "[flagger]") {
  GatePayload p = Parse(kFlaggerPayload);
  CHECK(p.name == "podinfo");
  CHECK(p.namespace_ == "test");
  CHECK(p.phase == "Progressing");
  CHECK(p.checksum == "85d557f47b");
  CHECK(p.versions == std::vector<std::string>{"v1"});
  CHECK_FALSE(p.application);
  CHECK(p.Canary() == "test/podinfo");

  // metadata is omitted by Flagger when empty: "all but latest".
  GatePayload q = Parse(R"({"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"x"})");
  CHECK(q.versions.empty());
  CHECK(q.metadata.empty());

  // Other fields and metadata keys are ignored; nothing is required.
  GatePayload r = Parse(R"({"future":[1,2],"metadata":{"application":"app","owner":"team-a"}})");
  CHECK(r.application == std::optional<std::string>("app"));
  CHECK(r.Canary() == "?/?");
}

TEST_CASE("gate: metadata.version is a comma-separated, trimmed, deduplicated list", "[flagger]") {
  CHECK(Parse(R"({"metadata":{"version":" v1 , v2,v1\t"}})").versions == std::vector<std::string>{"v1", "v2"});
  CHECK(Parse(R"({"metadata":{"version":"1.4.0"}})").versions == std::vector<std::string>{"1.4.0"});
  // Unicode and quotes are fine in names.
  CHECK(Parse(R"({"metadata":{"version":"v\"ü"}})").versions == std::vector<std::string>{"v\"\xc3\xbc"});

  auto empty = ParseError(R"({"metadata":{"version":""}})");
  CHECK(empty.status == 400);
  CHECK_THAT(empty.message, Catch::Contains("metadata.version is empty"));
  auto stray = ParseError(R"({"metadata":{"version":"v1,,v2"}})");
  CHECK(stray.status == 400);
  CHECK_THAT(stray.message, Catch::Contains("empty entry"));
  CHECK(ParseError(R"({"metadata":{"version":"v1,"}})").status == 400);
  auto nul = ParseError(R"({"metadata":{"version":"v\u0000"}})");
  CHECK(nul.status == 400);
  CHECK_THAT(nul.message, Catch::Contains("metadata.version"));
  std::string many;
  for (int i = 0; i <= 100; ++i) many += (i ? "," : "") + std::string("v") + std::to_string(i);
  CHECK_THAT(ParseError(R"({"metadata":{"version":")" + many + R"("}})").message, Catch::Contains("more than 100"));
  CHECK(ParseError(R"({"metadata":{"application":""}})").status == 400);
}

TEST_CASE("gate: 413, 415 and 400 say what is wrong", "[flagger]") {
  auto big = ParseError(kFlaggerPayload, "application/json", true);
  CHECK(big.status == 413);
  CHECK(big.code == "payload_too_large");
  CHECK(ParseError(std::string(64 * 1024 + 1, ' '), "application/json").status == 413);

  auto ct = ParseError(kFlaggerPayload, "text/plain");
  CHECK(ct.status == 415);
  CHECK(ct.code == "unsupported_media_type");
  CHECK_THAT(ct.message, Catch::Contains("text/plain"));
  CHECK_THAT(ParseError(kFlaggerPayload, "").message, Catch::Contains("got none"));
  // The content type is judged before the body.
  CHECK(ParseError("not json", "text/plain").status == 415);

  struct Case {
    const char* body;
    const char* says;
  } cases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"{", "not valid JSON"},
      {R"({"name":"a",})", "not valid JSON"},
      {"[1,2]", "must be a JSON object"},
      {"\"text\"", "must be a JSON object"},
      {R"({"name":5})", "\"name\" must be a string, got number"},
      {R"({"namespace":null})", "\"namespace\" must be a string, got null"},
      {R"({"checksum":{}})", "\"checksum\" must be a string"},
      {R"({"phase":true})", "\"phase\" must be a string"},
      {R"({"metadata":"version=v1"})", "\"metadata\" must be an object"},
      {R"({"metadata":["v1"]})", "\"metadata\" must be an object"},
      {R"({"metadata":{"version":1}})", "metadata.version must be a string"},
      {R"({"metadata":{"other":{"x":1}}})", "metadata.other must be a string"},
      {"{\"name\":\"\xff\"}", "not valid JSON"},  // invalid UTF-8
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto e = ParseError(c.body);
    CHECK(e.status == 400);
    CHECK(e.code == "bad_request");
    CHECK_THAT(e.message, Catch::Contains(c.says));
    CHECK(e.message.find('\n') == std::string::npos);
  }
}

TEST_CASE("gate: hostile nesting is a 400, not a crash", "[flagger]") {
  std::string deep(60000, '[');
  CHECK(ParseError(deep).status == 400);
  std::string closed = std::string(30000, '[') + std::string(30000, ']');
  CHECK(ParseError(closed).status == 400);
  std::string nested_meta = R"({"metadata":{"x":)" + std::string(20000, '[') + std::string(20000, ']') + "}}";
  CHECK(ParseError(nested_meta).status == 400);
}

TEST_CASE("gate: metadata.application must be the application this server serves", "[flagger]") {
  GatePayload p = WithVersions({"v1"});
  CHECK_FALSE(CheckGateApplication(p, std::nullopt));
  CHECK_FALSE(CheckGateApplication(p, std::string("app-a")));
  p.application = "app-a";
  CHECK_FALSE(CheckGateApplication(p, std::string("app-a")));

  auto other = CheckGateApplication(p, std::string("app-b"));
  REQUIRE(other);
  CHECK(other->status == 422);
  CHECK(other->code == "unprocessable");
  CHECK_THAT(other->message, Catch::Contains("\"app-b\"") && Catch::Contains("\"app-a\""));

  auto unscoped = CheckGateApplication(p, std::nullopt);
  REQUIRE(unscoped);
  CHECK(unscoped->status == 422);
  CHECK_THAT(unscoped->message, Catch::Contains("--application"));
}

TEST_CASE("gate: named versions are checked as named", "[flagger]") {
  Report r = TwoVersions();
  GateSelection s = Select(WithVersions({"v1"}), r);
  CHECK_FALSE(s.all_but_latest);
  CHECK(s.versions == std::vector<std::string>{"v1"});
  CHECK(s.latest == std::optional<std::string>("v2"));

  GateVerdict v = DecideGate(s, r, {});
  CHECK_FALSE(v.drained);
  CHECK(v.summary == "v1 not safe to retire: in_flight (3 pending, 4 enqueued (tasks), oldest 2h 5m)");

  // A version the database has never seen is not drained (a typo must not promote)...
  GateVerdict typo = DecideGate(Select(WithVersions({"v0"}), r), r, {});
  CHECK_FALSE(typo.drained);
  CHECK_THAT(typo.summary, Catch::StartsWith("v0 not safe to retire: unknown_version (\"v0\" is unknown)"));
  // ...unless the server runs with --unknown-version=drained.
  PolicyOptions lenient;
  lenient.unknown_version_drained = true;
  CHECK(DecideGate(Select(WithVersions({"v0"}), r), r, lenient).drained);
  // ...but an unknown version is never safe to retire, so the gate holds either way.
  CHECK_FALSE(DecideGate(Select(WithVersions({"v0"}), r), r, lenient).safe_to_retire);
  CHECK_FALSE(typo.safe_to_retire);
  CHECK_FALSE(v.safe_to_retire);

  // Names work without application_versions.
  Snapshot old = MakeSnapshot(unit::OldShape());
  old.groups.push_back(Group("v7", InFlightStatus::kPending, 1));
  Report ro = BuildReport(old, {});
  CHECK_FALSE(DecideGate(Select(WithVersions({"v7"}), ro), ro, {}).drained);
}

TEST_CASE("gate: all but latest, two and three versions", "[flagger]") {
  GatePayload all = WithVersions({});
  {
    Report r = TwoVersions();
    GateSelection s = Select(all, r);
    CHECK(s.all_but_latest);
    CHECK(s.versions == std::vector<std::string>{"v1"});
    GateVerdict v = DecideGate(s, r, {});
    CHECK_FALSE(v.drained);
    CHECK(v.summary == "v1 not safe to retire: in_flight (3 pending, 4 enqueued (tasks), oldest 2h 5m)");
  }
  {
    // v1 finished, v2 still busy, v3 (the canary) busy: v2 blocks, v3 never does.
    Snapshot s = MakeSnapshot();
    Register(s, "v1", kNow - 3'000'000);
    Register(s, "v2", kNow - 2'000'000);
    Register(s, "v3", kNow - 1'000'000);
    s.groups.push_back(Group("v2", InFlightStatus::kPending, 1, std::nullopt, "w2", kNow - 300'000));
    s.groups.push_back(Group("v3", InFlightStatus::kPending, 9, std::nullopt, "w3", kNow - 1'000));
    Report r = BuildReport(s, {});
    GateSelection sel = Select(all, r);
    CHECK(sel.versions == std::vector<std::string>{"v1", "v2"});
    CHECK(sel.latest == std::optional<std::string>("v3"));
    GateVerdict v = DecideGate(sel, r, {});
    CHECK_FALSE(v.drained);
    CHECK(v.summary == "v2 not safe to retire: in_flight (1 pending, oldest 5m)");
    REQUIRE(v.versions.size() == 2);
    CHECK(v.versions[0].drained);
    CHECK_FALSE(v.versions[1].drained);
  }
  {
    Snapshot s = MakeSnapshot();
    Register(s, "v1", kNow - 3'000'000);
    Register(s, "v2", kNow - 2'000'000);
    Register(s, "v3", kNow - 1'000'000);
    s.groups.push_back(Group("v3", InFlightStatus::kPending, 9));
    Report r = BuildReport(s, {});
    GateVerdict v = DecideGate(Select(all, r), r, {});
    CHECK(v.drained);
    CHECK(v.summary == "v1, v2 safe to retire: nothing in flight, no start in the last 2m");
  }
}

TEST_CASE("gate: a version only seen in workflow rows counts as older than the latest", "[flagger]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v2", kNow - 60'000);
  s.groups.push_back(Group("hash-abc", InFlightStatus::kEnqueued, 2, "tasks"));
  Report r = BuildReport(s, {});
  GateSelection sel = Select(WithVersions({}), r);
  CHECK(sel.versions == std::vector<std::string>{"hash-abc"});
  CHECK_FALSE(DecideGate(sel, r, {}).drained);
}

TEST_CASE("gate: NULL-version enqueued rows never block an old version", "[flagger]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", kNow - 3'600'000);
  Register(s, "v2", kNow - 60'000);
  s.groups.push_back(Group(std::nullopt, InFlightStatus::kEnqueued, 5, "tasks", ""));
  Report r = BuildReport(s, {});
  CHECK(DecideGate(Select(WithVersions({}), r), r, {}).drained);
  CHECK(DecideGate(Select(WithVersions({"v1"}), r), r, {}).drained);
  // They are the latest version's work.
  GateVerdict latest = DecideGate(Select(WithVersions({"v2"}), r), r, {});
  CHECK_FALSE(latest.drained);
  CHECK_THAT(latest.summary, Catch::StartsWith("v2 not safe to retire: latest, in_flight (5 enqueued (tasks)"));
}

TEST_CASE("gate: only the latest version is registered: nothing to drain", "[flagger]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", kNow - 60'000);
  s.groups.push_back(Group("v1", InFlightStatus::kPending, 1));
  Report r = BuildReport(s, {});
  GateSelection sel = Select(WithVersions({}), r);
  CHECK(sel.versions.empty());
  GateVerdict v = DecideGate(sel, r, {});
  CHECK(v.drained);
  CHECK(v.summary == "nothing to retire: v1 is the latest version and no other version is known");
}

TEST_CASE("gate: 422 when the versions cannot be told", "[flagger]") {
  // No application_versions table (older SDKs).
  Snapshot old = MakeSnapshot(unit::OldShape());
  old.groups.push_back(Group("v1", InFlightStatus::kPending, 1));
  auto e = SelectGateVersions(WithVersions({}), BuildReport(old, {}));
  REQUIRE(std::holds_alternative<GateError>(e));
  CHECK(std::get<GateError>(e).status == 422);
  CHECK(std::get<GateError>(e).code == "unprocessable");
  CHECK_THAT(std::get<GateError>(e).message,
             Catch::Contains("metadata.version is required") && Catch::Contains("dbos.application_versions"));

  // The table exists but nothing is registered.
  Snapshot none = MakeSnapshot();
  none.application = "app-a";
  none.groups.push_back(Group("v1", InFlightStatus::kPending, 1));
  auto n = SelectGateVersions(WithVersions({}), BuildReport(none, {}));
  REQUIRE(std::holds_alternative<GateError>(n));
  CHECK(std::get<GateError>(n).status == 422);
  CHECK_THAT(std::get<GateError>(n).message, Catch::Contains("no version is registered") && Catch::Contains("app-a"));
}

TEST_CASE("gate: several versions not drained share the summary line, at most five named", "[flagger]") {
  Snapshot s = MakeSnapshot();
  for (int i = 0; i < 8; ++i) {
    Register(s, "v" + std::to_string(i), kNow - 1'000'000 + i);
    if (i < 7) s.groups.push_back(Group("v" + std::to_string(i), InFlightStatus::kPending, i + 1));
  }
  Report r = BuildReport(s, {});
  GateVerdict v = DecideGate(Select(WithVersions({}), r), r, {});
  CHECK_FALSE(v.drained);
  CHECK(v.versions.size() == 7);
  CHECK_THAT(v.summary, Catch::StartsWith("v0 not safe to retire: in_flight (1 pending, oldest 1m); v1 not safe to retire: in_flight (2 pending"));
  CHECK_THAT(v.summary, Catch::EndsWith("; and 2 more versions not safe to retire"));
  CHECK(v.summary.find("v5") == std::string::npos);
}

TEST_CASE("gate: 200 body is JSON, 409 body is the summary line then JSON", "[flagger]") {
  Report r = TwoVersions();
  GatePayload p = Parse(kFlaggerPayload);
  GateSelection s = Select(p, r);

  GateAnswer no = GateBody(p, s, DecideGate(s, r, {}), r, 0.25);
  CHECK(no.status == 409);
  CHECK(no.content_type == "text/plain; charset=utf-8");
  auto nl = no.body.find('\n');
  REQUIRE(nl != std::string::npos);
  CHECK(no.body.substr(0, nl) == "v1 not safe to retire: in_flight (3 pending, 4 enqueued (tasks), oldest 2h 5m)");
  json doc = json::parse(no.body.substr(nl + 1));
  CHECK(doc["drained"] == false);
  CHECK(doc["safe_to_retire"] == false);
  CHECK(doc["message"] == no.body.substr(0, nl));
  // The one encoding of a version (GET /v1/versions/{version}), without a field of its own.
  CHECK(doc["results"][0]["blockers"][0]["code"] == "in_flight");
  CHECK(doc["results"][0]["phase"] == "draining");
  CHECK(doc["results"][0]["retire_hold"] == 7);
  CHECK_FALSE(doc["results"][0].contains("unassigned_enqueued"));
  CHECK(doc["results"][0] == VersionToJson(*r.Find("v1"), r.as_of_ms));
  CHECK(doc["versions"] == json::array({"v1"}));
  CHECK(doc["selection"] == "metadata.version");
  CHECK(doc["latest_version"] == "v2");
  CHECK(doc["canary"]["name"] == "podinfo");
  CHECK(doc["canary"]["namespace"] == "test");
  CHECK(doc["canary"]["checksum"] == "85d557f47b");
  CHECK(doc["results"][0]["in_flight"]["pending"] == 3);
  CHECK(doc["results"][0]["in_flight"]["enqueued"] == 4);
  CHECK(doc["results"][0]["oldest_in_flight_age_seconds"] == 7510.0);
  CHECK(doc["age_seconds"] == 0.25);

  // Drained: finished v1.
  Snapshot later = MakeSnapshot();
  Register(later, "v1", kNow - 3'600'000);
  Register(later, "v2", kNow - 60'000);
  Report done = BuildReport(later, {});
  GateSelection s2 = Select(p, done);
  GateAnswer yes = GateBody(p, s2, DecideGate(s2, done, {}), done, 0);
  CHECK(yes.status == 200);
  CHECK(yes.content_type == "application/json");
  json ok = json::parse(yes.body);
  CHECK(ok["drained"] == true);
  CHECK(ok["safe_to_retire"] == true);
  CHECK(ok["results"][0]["safe_to_retire"] == true);
  CHECK(ok["results"][0]["blockers"] == json::array());
  CHECK(ok["versions"] == json::array({"v1"}));
  CHECK(ok["message"] == "v1 safe to retire: nothing in flight, no start in the last 2m");
  CHECK(ok["results"][0]["oldest_in_flight_age_seconds"].is_null());
}

TEST_CASE("gate: hostile names cannot add lines to the summary", "[flagger]") {
  const std::string hostile = "v1\nHTTP/1.1 200 OK\r\n\"x\"\\ \xe2\x80\xa8\xc2\x85\x01";
  Snapshot s = MakeSnapshot();
  Register(s, hostile, kNow - 3'600'000);
  Register(s, "v2", kNow - 60'000);
  s.groups.push_back(Group(hostile, InFlightStatus::kEnqueued, 1, "q\nq"));
  Report r = BuildReport(s, {});
  GatePayload p = WithVersions({});
  GateSelection sel = Select(p, r);
  GateVerdict v = DecideGate(sel, r, {});
  CHECK_FALSE(v.drained);
  const std::string line =
      "v1\\nHTTP/1.1 200 OK\\r\\n\"x\"\\\\ \\u2028\\u0085\\x01 not safe to retire: in_flight (1 enqueued (q\\nq), oldest 1m)";
  CHECK(OneLine(v.summary) == line);
  GateAnswer a = GateBody(p, sel, v, r, 0);
  CHECK(a.body.substr(0, a.body.find('\n')) == line);
  // Exactly two lines: the summary and the JSON.
  CHECK(std::count(a.body.begin(), a.body.end(), '\n') == 2);
  json doc = json::parse(a.body.substr(a.body.find('\n') + 1));
  CHECK(doc["versions"][0] == hostile);
}

TEST_CASE("gate: OneLine escapes control characters only", "[flagger]") {
  CHECK(OneLine("plain ü → ok") == "plain ü → ok");
  CHECK(OneLine("a\nb\rc\td") == "a\\nb\\rc\\td");
  CHECK(OneLine(std::string("\x00\x1f\x7f", 3)) == "\\x00\\x1f\\x7f");
  CHECK(OneLine("back\\slash") == "back\\\\slash");
}

}  // namespace dbos_drain
