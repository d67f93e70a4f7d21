// HandleRequest in process (serve/api.h): every route, status code and error shape, HEAD,
// wrong methods, bad targets, bearer auth on and off, the Flagger route's bodies, and the
// request counters, over a real ReportCache fed Snapshots built here (api_fixture.h).
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "api_fixture.h"
#include "auth_token.h"
#include "prometheus_text.h"

using namespace dbos_drain;
using namespace dbos_drain::api_test;
using nlohmann::json;

namespace {

// The error shape every refusal has: {"drained": false, "error": {"code", "message"}}.
void CheckError(const HttpResponse& r, int status, const std::string& code) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.content_type == "application/json");
  json doc = json::parse(r.body);
  CHECK(doc.at("drained") == false);
  CHECK(doc.at("error").at("code") == code);
  CHECK_FALSE(doc.at("error").at("message").get<std::string>().empty());
}

json Body(const HttpResponse& r) {
  INFO(r.body);
  REQUIRE(r.content_type == "application/json");
  return json::parse(r.body);
}

const char* kPayload =
    R"({"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"85d557f47b","metadata":{"version":"%s"}})";

std::string Payload(const std::string& version) {
  char buf[512];
  std::snprintf(buf, sizeof buf, kPayload, version.c_str());
  return buf;
}

}  // namespace

TEST_CASE("api: /healthz and /readyz", "[api]") {
  Api api;
  auto health = api.Get("/healthz");
  CHECK(health.status == 200);
  CHECK(Body(health) == json{{"status", "ok"}});
  CHECK(api.Get("/healthz/").status == 200);  // one trailing slash is tolerated

  auto ready = api.Get("/readyz");
  CHECK(ready.status == 200);
  json doc = Body(ready);
  CHECK(doc.at("status") == "ready");
  CHECK(doc.at("database_state") == "readable");
  CHECK(doc.at("database") == "appdb");
  CHECK(doc.at("schema") == "dbos");
  CHECK(doc.at("as_of") == FormatTimestamp(kNow));
}

TEST_CASE("api: /readyz is 503 until the database answers once, then latches", "[api]") {
  Api::Config config;
  config.refresh = std::chrono::milliseconds(20);
  config.max_staleness = std::chrono::milliseconds(40);
  Api api(config);
  api.SetError(DrainError(ErrorCode::kDatabaseUnavailable, "connection refused"));
  auto down = api.Get("/readyz");
  CheckError(down, 503, "database_unavailable");
  CHECK(Header(down, "Retry-After") == "1");

  api.SetSnapshot(SampleSnapshot());
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // past the backoff
  CHECK(Body(api.Get("/readyz")).at("database_state") == "readable");

  // Down again and the report past its bound: still ready, saying why.
  api.SetError(DrainError(ErrorCode::kPermissionDenied, "permission denied for table workflow_status"));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  CheckError(api.Get("/v1/versions"), 503, "permission_denied");  // a read that fails
  auto latched = api.Get("/readyz");
  CHECK(latched.status == 200);
  json doc = Body(latched);
  CHECK(doc.at("status") == "ready");
  CHECK(doc.at("database_state") == "unreadable");
  CHECK(doc.at("error").at("code") == "permission_denied");
}

TEST_CASE("api: /v1/versions is the whole report with its age", "[api]") {
  Api api;
  auto r = api.Get("/v1/versions");
  CHECK(r.status == 200);
  json doc = Body(r);
  CHECK(doc.at("latest_version") == "v2");
  CHECK(doc.at("as_of") == FormatTimestamp(kNow));
  CHECK(doc.at("age_seconds").get<double>() >= 0);
  REQUIRE(doc.at("versions").size() == 2);
  CHECK(api.cache().refresh_count() == 1);
  CHECK(api.Get("/v1/versions/").status == 400);  // an empty version, not the whole report
}

TEST_CASE("api: /v1/versions/{version}: drained, not drained, unknown (then watched)", "[api]") {
  Api::Config config;
  config.refresh = std::chrono::milliseconds(1);  // every request after the first reads again
  Api api(config);
  json v1 = Body(api.Get("/v1/versions/v1"));
  CHECK(v1.at("version") == "v1");
  CHECK(v1.at("drained") == false);
  CHECK(v1.at("known") == true);
  CHECK(v1.at("in_flight").at("total") == 3);
  CHECK(v1.at("as_of") == FormatTimestamp(kNow));
  CHECK(v1.contains("age_seconds"));

  json v2 = Body(api.Get("/v1/versions/v2"));
  CHECK(v2.at("drained") == true);
  CHECK(v2.at("latest") == true);

  auto ghost = api.Get("/v1/versions/gh%C3%B6st");  // percent-decoded: "ghöst"
  CHECK(ghost.status == 200);  // Argo counts any non-2xx as an error: unknown is 200, not drained
  json g = Body(ghost);
  CHECK(g.at("version") == "gh\xc3\xb6st");
  CHECK(g.at("known") == false);
  CHECK(g.at("drained") == false);

  // An unknown version is watched: the next read looks it up in workflow history.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  api.Get("/v1/versions/v1");
  bool probed = false;
  for (const auto& p : api.probes()) probed = probed || p == std::vector<std::string>{"gh\xc3\xb6st"};
  CHECK(probed);
}

TEST_CASE("api: bad targets and names are 400 with the error shape", "[api]") {
  Api api;
  for (std::string target : std::vector<std::string>{"/v1/versions/a/b", "/v1/versions/%FF", "/v1/versions/%zz", "/v1/versions/%4",
                             "/v1/versions/a%00b", "/v1/queues", "/v1/queues/a/b", "/v1/queues/q?version=",
                             "/v1/queues/q?version=%FF", "nope", "", std::string("/") + std::string(5000, 'a'),
                             "/v1/versions/" + std::string(256, 'x')}) {
    INFO(target);
    CheckError(api.Get(target), 400, "bad_request");
  }
  CHECK(api.Get("/v1/versions/" + std::string(255, 'x')).status == 200);
}

TEST_CASE("api: unknown routes are 404; wrong methods 405 with Allow", "[api]") {
  Api api;
  for (std::string target : {"/", "/v2/versions", "/v1//versions", "/metricsx", "/v1/flagger"}) {
    INFO(target);
    CheckError(api.Get(target), 404, "not_found");
  }
  struct Case {
    const char* method;
    const char* target;
    const char* allow;
  };
  for (const Case& c : {Case{"POST", "/healthz", "GET, HEAD"}, Case{"DELETE", "/v1/versions", "GET, HEAD"},
                        Case{"PUT", "/v1/versions/v1", "GET, HEAD"}, Case{"OPTIONS", "/metrics", "GET, HEAD"},
                        Case{"TRACE", "/v1/queues/tasks", "GET, HEAD"}, Case{"POST", "/readyz", "GET, HEAD"},
                        Case{"GET", "/v1/flagger/confirm-promotion", "POST"},
                        Case{"HEAD", "/v1/flagger/confirm-promotion", "POST"}}) {
    INFO(c.method << " " << c.target);
    auto r = api.Call(c.method, c.target);
    CHECK(r.status == 405);
    CHECK(Header(r, "Allow") == c.allow);
    if (std::string(c.method) != "HEAD") CheckError(r, 405, "method_not_allowed");
  }
}

TEST_CASE("api: HEAD answers like GET without a body", "[api]") {
  Api api;
  for (std::string target : {"/healthz", "/readyz", "/metrics", "/v1/versions", "/v1/versions/v1", "/v1/queues/tasks",
                             "/nope", "/v1/versions/%FF"}) {
    INFO(target);
    auto get = api.Call("GET", target);
    auto head = api.Call("HEAD", target);
    CHECK(head.status == get.status);
    CHECK(head.content_type == get.content_type);
    CHECK(head.body.empty());
    CHECK_FALSE(get.body.empty());
  }
}

TEST_CASE("api: /v1/queues/{queue} for KEDA", "[api]") {
  Api api;
  json q = Body(api.Get("/v1/queues/tasks"));
  CHECK(q.at("queue") == "tasks");
  CHECK(q.at("known") == true);
  CHECK(q.at("version").is_null());
  CHECK(q.at("queue_utilization") == 1);
  CHECK(q.at("enqueued") == 1);
  CHECK(q.at("worker_concurrency") == 2);
  CHECK(q.at("desired_workers") == 1);
  CHECK(q.at("as_of") == FormatTimestamp(kNow));

  json v2 = Body(api.Get("/v1/queues/tasks?version=v2"));
  CHECK(v2.at("version") == "v2");
  CHECK(v2.at("queue_utilization") == 0);
  CHECK(Body(api.Get("/v1/queues/tasks?version=v1&other=x")).at("queue_utilization") == 1);

  CHECK(Body(api.Get("/v1/queues/tasks?version=latest")).at("selection") == "latest");
  // An unknown queue is a 404 (a typo never scales workers in: KEDA only takes a 200 number).
  CheckError(api.Get("/v1/queues/nosuch"), 404, "not_found");
}

TEST_CASE("api: /metrics with and without a readable database", "[api]") {
  Api api;
  auto r = api.Get("/metrics");
  CHECK(r.status == 200);
  CHECK(r.content_type == kPrometheusContentType);
  CHECK_THAT(r.body, Catch::Contains("dbos_drain_database_up 1"));
  CHECK_THAT(r.body, Catch::Contains("dbos_drain_version_drained{version=\"v1\"} 0"));
  CHECK_THAT(r.body, Catch::Contains("dbos_drain_build_info{version=\"0.0.0-test\"} 1"));

  Api::Config config;
  Api down(config);
  down.SetError(DrainError(ErrorCode::kDatabaseUnavailable, "connection refused"));
  auto d = down.Get("/metrics");
  CHECK(d.status == 200);  // dbos-drain's own metrics still answer
  CHECK_THAT(d.body, Catch::Contains("dbos_drain_database_up 0"));
  CHECK_THAT(d.body, !Catch::Contains("dbos_drain_version_drained"));
}

TEST_CASE("api: an unreadable database is 503 with Retry-After on every report route", "[api]") {
  Api api;
  api.SetError(DrainError(ErrorCode::kQueryTimeout, "canceling statement due to statement timeout"));
  for (std::string target : {"/v1/versions", "/v1/versions/v1", "/v1/queues/tasks"}) {
    INFO(target);
    auto r = api.Get(target);
    CheckError(r, 503, "query_timeout");
    CHECK(Header(r, "Retry-After") == "1");
  }
  auto f = api.Flagger(Payload("v1"));
  CheckError(f, 503, "query_timeout");
  CHECK(Header(f, "Retry-After") == "1");
}

TEST_CASE("api: Flagger confirm-promotion bodies", "[api][flagger]") {
  Api api;
  SECTION("a version safe to retire: 200 JSON") {
    Api::Config config;
    config.snapshot = RetirableSnapshot();
    Api retirable(config);
    auto r = retirable.Flagger(Payload("v1"));
    CHECK(r.status == 200);
    json doc = Body(r);
    CHECK(doc.at("safe_to_retire") == true);
    CHECK(doc.at("drained") == true);
    CHECK(doc.at("versions") == json::array({"v1"}));
    CHECK(doc.at("selection") == "metadata.version");
    CHECK(doc.at("canary").at("name") == "podinfo");
  }
  SECTION("a version in flight: 409, the summary line then the JSON") {
    auto r = api.Flagger(Payload("v1"));
    CHECK(r.status == 409);
    CHECK(r.content_type == "text/plain; charset=utf-8");
    auto nl = r.body.find('\n');
    REQUIRE(nl != std::string::npos);
    CHECK_THAT(r.body.substr(0, nl), Catch::Contains("v1"));
    json doc = json::parse(r.body.substr(nl + 1));
    CHECK(doc.at("drained") == false);
    CHECK(doc.at("safe_to_retire") == false);
  }
  SECTION("the latest version, drained, is never safe to retire: 409") {
    auto r = api.Flagger(Payload("v2"));
    CHECK(r.status == 409);
    CHECK_THAT(r.body, Catch::StartsWith("v2 not safe to retire: latest"));
    json doc = json::parse(r.body.substr(r.body.find('\n') + 1));
    CHECK(doc.at("drained") == true);
    CHECK(doc.at("safe_to_retire") == false);
  }
  SECTION("no metadata.version: every version but the latest") {
    auto r = api.Flagger(R"({"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"x"})");
    CHECK(r.status == 409);  // v1 is in flight
    CHECK_THAT(r.body, Catch::Contains("\"selection\":\"all_but_latest\""));
  }
  SECTION("refusals") {
    CheckError(api.Flagger(Payload("v1"), ""), 415, "unsupported_media_type");
    CheckError(api.Flagger(Payload("v1"), "text/plain"), 415, "unsupported_media_type");
    CHECK(api.Flagger(Payload("v1"), "Application/JSON; charset=utf-8").status == 409);
    CheckError(api.Call("POST", "/v1/flagger/confirm-promotion", "", "application/json", "", true), 413,
               "payload_too_large");
    CheckError(api.Flagger(""), 400, "bad_request");
    CheckError(api.Flagger("{\"name\":"), 400, "bad_request");
    CheckError(api.Flagger("[1,2]"), 400, "bad_request");
    CheckError(api.Flagger(R"({"metadata":{"version":7}})"), 400, "bad_request");
    CheckError(api.Flagger(Payload("v1,,v2")), 400, "bad_request");
    CheckError(api.Flagger(R"({"metadata":{"version":"v1","application":"shop"}})"), 422, "unprocessable");
  }
}

TEST_CASE("api: Flagger metadata.application must match --application", "[api][flagger]") {
  Api::Config config;
  config.application = "shop";
  config.snapshot = RetirableSnapshot();
  Api api(config);
  CHECK(api.Flagger(R"({"metadata":{"version":"v1","application":"shop"}})").status == 200);
  CheckError(api.Flagger(R"({"metadata":{"version":"v2","application":"other"}})"), 422, "unprocessable");
}

TEST_CASE("api: bearer auth protects the report routes only", "[api][auth]") {
  char path[] = "/tmp/dbos-drain-api-token.XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << "s3cret\n";
  AuthToken token(path);
  Api::Config config;
  config.authorize = [&token](const std::string& header) { return token.Check(header); };
  config.snapshot = RetirableSnapshot();
  Api api(config);
  for (std::string target : {"/v1/versions", "/v1/versions/v1", "/v1/queues/tasks", "/metrics"}) {
    INFO(target);
    auto none = api.Get(target);
    CheckError(none, 401, "unauthorized");
    CHECK(Header(none, "WWW-Authenticate") == "Bearer realm=\"dbos-drain\"");
    CheckError(api.Call("GET", target, "", "", "Bearer wrong"), 401, "unauthorized");
    CheckError(api.Call("GET", target, "", "", "Basic czNjcmV0"), 401, "unauthorized");
    CHECK(api.Call("GET", target, "", "", "Bearer s3cret").status == 200);
    CHECK(api.Call("GET", target, "", "", "bearer  s3cret ").status == 200);  // scheme any case, spaces trimmed
  }
  // Probes and Flagger (which cannot send headers) stay open; so do 404s and 405s.
  CHECK(api.Get("/healthz").status == 200);
  CHECK(api.Get("/readyz").status == 200);
  CHECK(api.Flagger(Payload("v1")).status == 200);
  CHECK(api.Get("/nope").status == 404);
  CHECK(api.Call("POST", "/v1/versions").status == 405);
  std::remove(path);
}

TEST_CASE("api: a handler that throws is a 500 with the error shape, never an exception", "[api]") {
  Api::Config config;
  config.authorize = [](const std::string&) -> bool { throw std::runtime_error("token store broke"); };
  Api api(config);
  CheckError(api.Get("/v1/versions"), 500, "internal_error");
  CHECK_THAT(api.Get("/v1/versions").body, !Catch::Contains("token store broke"));
}

TEST_CASE("api: every request is counted by route label and status", "[api]") {
  Api api;
  api.Get("/healthz");
  api.Get("/v1/versions/v1");
  api.Get("/v1/versions/v2");
  api.Get("/nope");
  api.Call("POST", "/healthz");
  api.Get("/v1/versions/%FF");
  api.Flagger(Payload("v1"));
  const auto counts = api.metrics().Get().requests;
  auto n = [&](const char* route, int status) {
    auto it = counts.find({route, status});
    return it == counts.end() ? 0 : it->second;
  };
  CHECK(n("/healthz", 200) == 1);
  CHECK(n("/v1/versions/{version}", 200) == 2);
  CHECK(n("unmatched", 404) == 1);
  CHECK(n("method_not_allowed", 405) == 1);
  CHECK(n("bad_request", 400) == 1);
  CHECK(n("/v1/flagger/confirm-promotion", 409) == 1);
}

TEST_CASE("api: /v1/versions lists by default, ?all=true every version; {v} answers any", "[api][listing]") {
  // v1 and v2 as in SampleSnapshot, plus 50 versions registered 3 days ago with nothing in flight
  // (safe to retire, quiet: hidden by default).
  Snapshot s = SampleSnapshot();
  for (int i = 0; i < 50; ++i) {
    const int64_t at = kNow - 3 * 86'400'000LL + i;
    s.registered.push_back({"old-" + std::to_string(i), at, at});
  }
  Api::Config config;
  config.snapshot = s;
  Api api(config);

  json d = Body(api.Get("/v1/versions"));
  CHECK(d.at("listing") == "default");
  CHECK(d.at("hidden_versions") == 50);
  REQUIRE(d.at("versions").size() == 2);
  CHECK(d.at("versions").at(0).at("version") == "v1");
  CHECK(d.at("versions").at(1).at("version") == "v2");
  CHECK(d.contains("age_seconds"));
  CHECK(Body(api.Get("/v1/versions?all=false")).at("hidden_versions") == 50);
  CHECK(Body(api.Get("/v1/versions?verbose=1")).at("hidden_versions") == 50);  // unknown parameters are ignored

  auto all_response = api.Get("/v1/versions?all=true");
  CHECK(all_response.status == 200);
  json all = Body(all_response);
  CHECK(all.at("listing") == "all");
  CHECK(all.at("hidden_versions") == 0);
  REQUIRE(all.at("versions").size() == 52);
  CHECK(all.at("versions").at(0).at("version") == "old-0");  // registration order, as ever
  CHECK(all.at("unassigned") == d.at("unassigned"));
  CHECK(all.contains("age_seconds"));
  // Encoded once per report: the same body (but its age) again, and no extra read.
  json again = Body(api.Get("/v1/versions?all=true&all=true"));
  again.erase("age_seconds");
  all.erase("age_seconds");
  CHECK(again == all);
  CHECK(api.cache().refresh_count() == 1);
  auto head = api.Call("HEAD", "/v1/versions?all=true");
  CHECK(head.status == 200);
  CHECK(head.body.empty());

  // A hidden version is answered by name like any other.
  json old = Body(api.Get("/v1/versions/old-7"));
  CHECK(old.at("version") == "old-7");
  CHECK(old.at("known") == true);
  CHECK(old.at("safe_to_retire") == true);
  CHECK(old.at("registered_at") == FormatTimestamp(kNow - 3 * 86'400'000LL + 7));

  for (const char* bad : {"/v1/versions?all", "/v1/versions?all=1", "/v1/versions?all=yes", "/v1/versions?all=%zz"}) {
    INFO(bad);
    auto r = api.Get(bad);
    CheckError(r, 400, "bad_request");
    CHECK(json::parse(r.body).at("error").at("message").get<std::string>().find("true or false") != std::string::npos);
  }
  // /metrics: series only for the listed versions, and the count of both.
  auto m = api.Get("/metrics");
  CHECK(m.body.find("dbos_drain_versions{listing=\"listed\"} 2\n") != std::string::npos);
  CHECK(m.body.find("dbos_drain_versions{listing=\"hidden\"} 50\n") != std::string::npos);
  CHECK(m.body.find("old-") == std::string::npos);
  CHECK(m.body.find("dbos_drain_version_drained{version=\"v1\"} 0\n") != std::string::npos);
}
