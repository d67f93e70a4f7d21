// Issue 3: `dbos-drain serve` over real HTTP on loopback, against a real PostgreSQL: every route
// and status code, the drained flip, SIGTERM, and the Argo example checked against the live API.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>

#include "drain_service.h"
#include "table_lock.h"
#include "test_database.h"

using namespace dbos_drain::servicetest;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::SourceDir;
using dbos_drain::testing::TestDatabase;
using dbos_drain::testing::Workflow;

namespace {

// v1: two PENDING rows (not drained); v2: the latest, nothing in flight (drained).
struct TwoVersions {
  TestDatabase db;
  std::vector<std::string> v1_rows;
  TwoVersions() {
    db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
    db.InsertVersion("v2", AgoMs(std::chrono::hours(1)));
    v1_rows = db.InsertWorkflows(2, Workflow("PENDING").Version("v1").Executor("worker-v1"));
    db.InsertWorkflow(Workflow("SUCCESS").Version("v2"));
  }
};

void CheckErrorBody(const HttpReply& r, int status, const std::string& code) {
  INFO(r.Describe());
  CHECK(r.status == status);
  CHECK(r.Header("content-type") == "application/json");
  nlohmann::json j;
  REQUIRE_NOTHROW(j = r.Json());
  CHECK(j.at("drained") == false);
  CHECK(j.at("error").at("code") == code);
  CHECK(j.at("error").at("message").get<std::string>().size() > 10);
}

}  // namespace

TEST_CASE("serve: health, readiness and the report", "[service][routes]") {
  TwoVersions fx;
  DrainService svc(Config(fx.db.url()));

  HttpReply health = svc.Get("/healthz");
  INFO(health.Describe());
  CHECK(health.status == 200);
  CHECK(health.Header("content-type") == "application/json");
  CHECK(health.Json() == nlohmann::json{{"status", "ok"}});

  HttpReply ready = svc.Get("/readyz");
  INFO(ready.Describe());
  CHECK(ready.status == 200);
  CHECK(ready.Json().at("status") == "ready");

  HttpReply all = svc.Get("/v1/versions");
  INFO(all.Describe());
  REQUIRE(all.status == 200);
  auto report = all.Json();
  CHECK(report.at("as_of").is_string());
  CHECK(report.at("age_seconds").is_number());
  CHECK(report.at("age_seconds").get<double>() >= 0);
  CHECK(report.at("latest_version") == "v2");
  REQUIRE(report.at("versions").size() == 2);
  for (const auto& v : report.at("versions")) {
    if (v.at("version") == "v1") {
      CHECK(v.at("drained") == false);
      CHECK(v.at("in_flight").at("pending") == 2);
      CHECK(v.at("in_flight").at("total") == 2);
      CHECK(v.at("executors").contains("worker-v1"));
    } else {
      CHECK(v.at("version") == "v2");
      CHECK(v.at("drained") == true);
      CHECK(v.at("latest") == true);
    }
  }
}

TEST_CASE("serve: /v1/versions/{version} is 200 whether drained or not", "[service][routes]") {
  TwoVersions fx;
  DrainService svc(Config(fx.db.url()));

  HttpReply v1 = svc.Get("/v1/versions/v1");
  INFO(v1.Describe());
  REQUIRE(v1.status == 200);
  auto j1 = v1.Json();
  CHECK(j1.at("version") == "v1");
  CHECK(j1.at("drained") == false);
  CHECK(j1.at("known") == true);
  CHECK(j1.at("reason").is_null());
  CHECK(j1.at("in_flight") == nlohmann::json{{"pending", 2}, {"enqueued", 0}, {"delayed", 0}, {"suspended", 0}, {"total", 2}});
  CHECK(j1.at("as_of").is_string());
  CHECK(j1.at("age_seconds").is_number());

  HttpReply v2 = svc.Get("/v1/versions/v2");
  INFO(v2.Describe());
  REQUIRE(v2.status == 200);
  CHECK(v2.Json().at("drained") == true);
  CHECK(v2.Json().at("in_flight").at("total") == 0);

  SECTION("an unknown version: 200, not drained, with a reason") {
    HttpReply u = svc.Get("/v1/versions/v-typo");
    INFO(u.Describe());
    REQUIRE(u.status == 200);
    auto j = u.Json();
    CHECK(j.at("version") == "v-typo");
    CHECK(j.at("drained") == false);
    CHECK(j.at("known") == false);
    CHECK_THAT(j.at("reason").get<std::string>(), Catch::Contains("unknown"));
  }
  SECTION("the version is one percent-decoded segment") {
    HttpReply enc = svc.Get("/v1/versions/%76%31");  // "v1"
    INFO(enc.Describe());
    CHECK(enc.status == 200);
    CHECK(enc.Json().at("version") == "v1");
    HttpReply slash = svc.Get("/v1/versions/a%2Fb");  // one segment "a/b": a valid (unknown) name
    INFO(slash.Describe());
    CHECK(slash.status == 200);
    CHECK(slash.Json().at("version") == "a/b");
  }
  SECTION("255 bytes is the longest name; UTF-8 counts bytes") {
    HttpReply max = svc.Get("/v1/versions/" + std::string(255, 'a'));
    INFO(max.Describe());
    CHECK(max.status == 200);
    std::string e_acute = "\xC3\xA9";
    std::string name254;
    for (int i = 0; i < 127; ++i) name254 += e_acute;
    HttpReply utf = svc.Get("/v1/versions/" + PercentEncode(name254 + "a"));
    INFO(utf.Describe());
    CHECK(utf.status == 200);
    CHECK(utf.Json().at("version") == name254 + "a");
    HttpReply too_long = svc.Get("/v1/versions/" + PercentEncode(name254 + e_acute));  // 256 bytes
    CheckErrorBody(too_long, 400, "bad_request");
  }
}

TEST_CASE("serve: 400 for bad version segments", "[service][routes]") {
  TwoVersions fx;
  DrainService svc(Config(fx.db.url()));
  for (const std::string& target : {
           "/v1/versions/" + std::string(256, 'a'),  // too long
           std::string("/v1/versions/%00"),          // NUL
           std::string("/v1/versions/a%00b"),
           std::string("/v1/versions/%FF"),          // not UTF-8
           std::string("/v1/versions/%C3%28"),
           std::string("/v1/versions/%ED%A0%80"),    // a surrogate
           std::string("/v1/versions/a/b"),          // two segments
           std::string("/v1/versions/"),             // empty
           std::string("/v1/versions//"),
       }) {
    INFO("target " << target.substr(0, 40));
    CheckErrorBody(svc.Get(target), 400, "bad_request");
  }
  // Undecodable escapes: routing refuses them with the JSON 400 (since issue 23; cpprest's
  // listener answered a bare 400 itself). Never a verdict.
  for (const std::string& target : std::vector<std::string>{"/v1/versions/%zz", "/v1/versions/a%4", "/v1/versions/%", "/v1/versions/%%"}) {
    HttpReply r = svc.Get(target);
    INFO("undecodable " << target << ": " << r.Describe());
    CheckErrorBody(r, 400, "bad_request");
    CHECK_FALSE(IsDrainedTrue(r));
  }
  CHECK(svc.Get("/healthz").status == 200);
}

TEST_CASE("serve: 404 for unknown paths, 405 with Allow for wrong methods, HEAD like GET", "[service][routes]") {
  TwoVersions fx;
  DrainService svc(Config(fx.db.url()));

  for (const std::string& target : std::vector<std::string>{"/", "/nope", "/v1", "/v2/versions", "/v1//versions", "/healthz/x", "/V1/versions",
                                   "/v1/versionsx", "/v1/flagger"}) {
    INFO("404 " << target);
    CheckErrorBody(svc.Get(target), 404, "not_found");
  }

  struct Case {
    std::string method, target, allow;
  };
  for (const Case& c : std::vector<Case>{{"POST", "/v1/versions", "GET, HEAD"},
                                         {"PUT", "/v1/versions/v1", "GET, HEAD"},
                                         {"DELETE", "/v1/versions/v1", "GET, HEAD"},
                                         {"PATCH", "/healthz", "GET, HEAD"},
                                         {"POST", "/readyz", "GET, HEAD"},
                                         {"OPTIONS", "/v1/versions", "GET, HEAD"},
                                         {"TRACE", "/v1/versions/v1", "GET, HEAD"},
                                         {"GET", "/v1/flagger/confirm-promotion", "POST"}}) {
    INFO("405 " << c.method << " " << c.target);
    RequestOptions o;
    if (c.method == "POST" || c.method == "PUT" || c.method == "PATCH") o.body = "{}";
    HttpReply r = svc.Request(c.method, c.target, o);
    CheckErrorBody(r, 405, "method_not_allowed");
    CHECK(r.Header("allow") == c.allow);
  }

  {  // HEAD answers like GET without a body
    for (const std::string& target : std::vector<std::string>{"/healthz", "/readyz", "/v1/versions", "/v1/versions/v1", "/v1/versions/v-typo"}) {
      HttpReply r = svc.Request("HEAD", target);
      INFO(target << ": " << r.Describe());
      CHECK(r.status == 200);
      CHECK(r.body.empty());
      CHECK(r.Header("content-type") == "application/json");
    }
    CHECK(svc.Request("HEAD", "/nope").status == 404);
    CHECK(svc.Request("HEAD", "/v1/versions/%00").status == 400);
  }
}

TEST_CASE("serve: readyz is 503 until the database answered with a DBOS schema", "[service][routes]") {
  TestDatabase db("");  // an empty database: DBOS has not created its tables yet
  ServeConfig cfg = Config(db.url());
  cfg.wait_ready = false;
  DrainService svc(cfg);

  CHECK(svc.Get("/healthz").status == 200);
  HttpReply not_ready = svc.Get("/readyz");
  CheckErrorBody(not_ready, 503, "schema_not_found");
  CHECK(not_ready.Header("retry-after") == "1");
  CheckErrorBody(svc.Get("/v1/versions"), 503, "schema_not_found");
  HttpReply v = svc.Get("/v1/versions/v1");
  CheckErrorBody(v, 503, "schema_not_found");
  CHECK_THAT(v.Json().at("error").at("message").get<std::string>(), Catch::Contains("workflow_status"));

  // DBOS creates its tables: ready without a restart, within a second or two.
  db.LoadSqlFile(dbos_drain::testing::FixturePath("schema-newest.sql"), "dbos");
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  const auto t0 = Clock::now();
  HttpReply ready = PollUntil(svc, "/readyz", [](const HttpReply& r) { return r.status == 200; }, seconds(5));
  INFO(ready.Describe());
  CHECK(ready.status == 200);
  CHECK(Since(t0) < milliseconds(2500));
  HttpReply v1 = svc.Get("/v1/versions/v1");
  INFO(v1.Describe());
  CHECK(v1.status == 200);
  CHECK(v1.Json().at("drained") == false);
}

TEST_CASE("serve: drained flips to true within a second of the last in-flight row finishing", "[service][flip]") {
  TwoVersions fx;
  DrainService svc(Config(fx.db.url()));  // --refresh 200ms

  HttpReply before = svc.Get("/v1/versions/v1");
  INFO(before.Describe());
  REQUIRE(before.status == 200);
  CHECK(before.Json().at("in_flight").at("total") == 2);

  fx.db.SetStatus(fx.v1_rows[0], "SUCCESS");
  HttpReply one_left = PollUntil(svc, "/v1/versions/v1", [](const HttpReply& r) {
    return r.status == 200 && r.Json().at("in_flight").at("total") == 1;
  }, seconds(3));
  INFO(one_left.Describe());
  REQUIRE(one_left.status == 200);
  CHECK(one_left.Json().at("drained") == false);

  // The last row finishes: from now on the answer must turn drained, and quickly.
  fx.db.SetStatus(fx.v1_rows[1], "SUCCESS");
  const auto finished = Clock::now();
  HttpReply drained = PollUntil(svc, "/v1/versions/v1", IsDrainedTrue, seconds(5), milliseconds(20));
  const auto took = Since(finished);
  INFO(drained.Describe());
  CHECK(IsDrainedTrue(drained));
  CHECK(took < milliseconds(1000));
  CHECK(drained.Json().at("in_flight").at("total") == 0);
  CHECK(drained.Json().at("summary").get<std::string>().find("drained") != std::string::npos);

  // And back: a row resumed by hand (CANCELLED -> ENQUEUED) makes it not drained again.
  fx.db.SetStatus(fx.v1_rows[0], "ENQUEUED");
  HttpReply again = PollUntil(svc, "/v1/versions/v1", [](const HttpReply& r) {
    return r.status == 200 && r.Json().at("drained") == false;
  }, seconds(3));
  INFO(again.Describe());
  CHECK(again.status == 200);
  CHECK(again.Json().at("in_flight").at("enqueued") == 1);
}

TEST_CASE("serve: SIGTERM and SIGINT stop it with exit 0 within 5 s", "[service][signals]") {
  TwoVersions fx;
  for (int sig : {SIGTERM, SIGINT}) {
    DYNAMIC_SECTION("signal " << sig) {
      DrainService svc(Config(fx.db.url()));
      REQUIRE(svc.Get("/v1/versions/v1").status == 200);
      // A client that sent half a request and stalls must not hold the shutdown up.
      Connection stalled(svc.port());
      REQUIRE(stalled.Send("GET /v1/versions/v1 HTTP/1.1\r\nHost: x\r\n"));
      const auto t0 = Clock::now();
      svc.process().Signal(sig);
      auto r = svc.process().Wait(seconds(10));
      INFO(r.Describe());
      CHECK(r.exit_code == 0);
      CHECK(Since(t0) < milliseconds(5000));
      CHECK_THAT(r.err, Catch::Contains("\"stopping\""));
      CHECK_THAT(r.err, Catch::Contains("\"stopped\""));
      // Not listening any more.
      HttpReply after = Get(svc.port(), "/healthz", WithTimeout(milliseconds(1000)));
      CHECK(after.status == 0);
    }
  }
}

TEST_CASE("serve: SIGTERM during start (first read still running) is a clean exit 0", "[service][signals]") {
  TwoVersions fx;
  // Hold the table so the first read at start waits for its query timeout.
  dbos_drain::testing::TableLock lock(fx.db, "workflow_status");
  for (int attempt = 0; attempt < 3; ++attempt) {
    ServeConfig cfg = Config(fx.db.url());
    cfg.query_timeout = "3s";
    cfg.wait_ready = false;
    DrainService svc(cfg);  // returns once "listening" is logged: the first read is under way
    const auto t0 = Clock::now();
    svc.process().Signal(SIGTERM);
    auto r = svc.process().Wait(seconds(10));
    INFO(r.Describe());
    CHECK(r.exit_code == 0);  // not killed by the signal's default action in some thread
    CHECK(r.term_signal == 0);
    CHECK(Since(t0) < milliseconds(1500));  // without waiting for the first read to time out
  }
  lock.Release();
}

TEST_CASE("serve: one JSON log line per start, database state change and stop", "[service][logs]") {
  TwoVersions fx;
  DrainService svc(Config(fx.db.url()));
  for (int i = 0; i < 20; ++i) svc.Get("/v1/versions/v1");
  auto r = svc.Stop();
  REQUIRE(r.exit_code == 0);
  std::vector<nlohmann::json> lines;
  REQUIRE_NOTHROW(lines = svc.LogLines());
  std::map<std::string, int> count;
  for (const auto& l : lines) {
    CHECK(l.at("time").is_string());
    CHECK(l.at("level").is_string());
    count[l.at("msg").get<std::string>()]++;
  }
  INFO(svc.Stderr());
  CHECK(count["listening"] == 1);
  CHECK(count["database readable"] == 1);  // a change of state, not one line per refresh
  CHECK(count["stopping"] == 1);
  CHECK(count["stopped"] == 1);
  for (const auto& l : lines) {
    const std::string text = l.dump();
    CHECK(text.find("password") == std::string::npos);
  }
}

// The example AnalysisTemplate must keep working with the API: read its URL path and the field
// its successCondition tests from the YAML, and evaluate them against the live service.
namespace {

struct ArgoMetric {
  std::string url;
  std::string success_condition;
  std::string json_path;
};

std::string Unquote(std::string s) {
  auto b = s.find_first_not_of(" \t");
  s = b == std::string::npos ? "" : s.substr(b);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return s;
}

// Every metric (url + successCondition + jsonPath) in a multi-document YAML, in order. Only what
// the test needs: "key: value" lines, comments skipped.
std::vector<ArgoMetric> ReadMetrics(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<ArgoMetric> out;
  std::string line;
  ArgoMetric m;
  auto value_of = [](const std::string& l, const std::string& key) -> std::optional<std::string> {
    auto p = l.find_first_not_of(" \t-");
    if (p == std::string::npos || l.compare(p, key.size() + 1, key + ":") != 0) return std::nullopt;
    return Unquote(l.substr(p + key.size() + 1));
  };
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    if (auto v = value_of(line, "successCondition")) m.success_condition = *v;
    if (auto v = value_of(line, "url")) m.url = *v;
    if (auto v = value_of(line, "jsonPath")) m.json_path = *v;
    if (!m.url.empty() && !m.success_condition.empty() && !m.json_path.empty()) {
      out.push_back(m);
      m = ArgoMetric{};
    }
  }
  return out;
}

}  // namespace

TEST_CASE("examples/argo/analysis-template.yaml matches the live API", "[service][argo]") {
  const std::string path = SourceDir() + "/examples/argo/analysis-template.yaml";
  auto metrics = ReadMetrics(path);
  INFO(path);
  REQUIRE(metrics.size() >= 2);  // the AnalysisTemplate and its ClusterAnalysisTemplate twin

  TwoVersions fx;
  // v0: an old version whose last workflow finished an hour ago: safe to retire.
  fx.db.InsertVersion("v0", AgoMs(std::chrono::hours(3)));
  fx.db.InsertWorkflow(Workflow("SUCCESS").Version("v0").CreatedAgo(std::chrono::hours(1)));
  DrainService svc(Config(fx.db.url()));
  for (const auto& m : metrics) {
    INFO("url: " << m.url << "  successCondition: " << m.success_condition << "  jsonPath: " << m.json_path);
    // http://HOST:PORT/PATH: the path after the host, with {{args.version}} in it.
    std::smatch url;
    REQUIRE(std::regex_match(m.url, url, std::regex(R"(https?://[^/]+(/.*))")));
    std::string path_template = url[1];
    CHECK(path_template.find("{{args.version}}") != std::string::npos);
    // result.FIELD == true: the field the condition reads from the decoded JSON.
    std::smatch cond;
    REQUIRE(std::regex_match(m.success_condition, cond, std::regex(R"(\s*result\.([A-Za-z_][A-Za-z0-9_]*)\s*==\s*true\s*)")));
    const std::string field = cond[1];
    CHECK(m.json_path == "{$}");  // the whole object becomes `result`

    auto measure = [&](const std::string& version) {
      std::string target = std::regex_replace(path_template, std::regex(R"(\{\{args\.version\}\})"), version);
      HttpReply r = svc.Get(target);
      INFO(target << " -> " << r.Describe());
      REQUIRE(r.status == 200);  // Argo's web provider counts any non-2xx as an Error
      auto j = r.Json();
      REQUIRE(j.contains(field));
      REQUIRE(j.at(field).is_boolean());
      return j.at(field).get<bool>();
    };
    CHECK(field == "safe_to_retire");     // the gate follows the retire verdict, not the raw count
    CHECK(measure("v0") == true);         // safe to retire: the condition holds
    CHECK(measure("v2") == false);        // the latest version (drained, but never retirable)
    CHECK(measure("v1") == false);        // in flight: it does not
    CHECK(measure("v-unknown") == false); // unknown: it does not
  }
}
