// POST /v1/flagger/confirm-promotion against the real binary and a real PostgreSQL, with the
// payload exactly as Flagger v1.44 sends it (pkg/controller/webhook.go).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "drain_service.h"

namespace dbos_drain::servicetest {
namespace {

using nlohmann::json;
using testing::AgoMs;
using testing::TestDatabase;
using testing::Workflow;
using namespace std::chrono_literals;

const char* kRoute = "/v1/flagger/confirm-promotion";

// What Flagger marshals: CanaryWebhookPayload, metadata omitted when empty.
std::string FlaggerPayload(const std::map<std::string, std::string>& metadata = {}) {
  json doc{{"name", "podinfo"}, {"namespace", "test"}, {"phase", "Progressing"}, {"checksum", "6c5d8f9b7"}};
  if (!metadata.empty()) doc["metadata"] = metadata;
  return doc.dump();
}

json SecondLineJson(const HttpReply& r) {
  auto nl = r.body.find('\n');
  REQUIRE(nl != std::string::npos);
  return json::parse(r.body.substr(nl + 1));
}

json ErrorOf(const HttpReply& r) {
  INFO(r.body);
  CHECK(r.Header("content-type") == "application/json");
  json doc = json::parse(r.body);
  CHECK(doc["drained"] == false);
  return doc["error"];
}

}  // namespace

TEST_CASE("flagger http: a named version, not drained then drained", "[flagger][http]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(3h));
  db.InsertVersion("v2", AgoMs(1min));
  db.InsertQueue("tasks", 10, 2);
  auto pending = db.InsertWorkflows(3, Workflow("PENDING").Version("v1").Executor("worker-v1").CreatedAgo(2h + 5min + 10s));
  auto enqueued = db.InsertWorkflows(4, Workflow("ENQUEUED").Version("v1").Queue("tasks").CreatedAgo(10min));
  db.InsertWorkflows(2, Workflow("SUCCESS").Version("v1").CreatedAgo(1h));
  db.InsertWorkflows(1, Workflow("PENDING").Version("v2").CreatedAgo(1h + 20s));
  DrainService server(Config(db));

  HttpReply r = server.Post(kRoute, FlaggerPayload({{"version", "v1"}}));
  INFO(r.body);
  CHECK(r.status == 409);
  CHECK(r.Header("content-type") == "text/plain; charset=utf-8");
  CHECK(FirstLine(r) == "v1 not safe to retire: in_flight (3 pending, 4 enqueued (tasks), oldest 2h 5m)");
  json doc = SecondLineJson(r);
  CHECK(doc["drained"] == false);
  CHECK(doc["versions"] == json::array({"v1"}));
  CHECK(doc["selection"] == "metadata.version");
  CHECK(doc["results"][0]["in_flight"]["total"] == 7);
  CHECK(doc["canary"]["checksum"] == "6c5d8f9b7");

  // The decision is logged with the canary, checksum, versions and verdict.
  CHECK(testing::WaitUntil([&] { return server.Stderr().find("\"verdict\":\"not_safe_to_retire\"") != std::string::npos; }, 5s));
  const std::string log = server.Stderr();
  CHECK(log.find("\"msg\":\"flagger confirm-promotion\"") != std::string::npos);
  CHECK(log.find("\"canary\":\"test/podinfo\"") != std::string::npos);
  CHECK(log.find("\"checksum\":\"6c5d8f9b7\"") != std::string::npos);
  CHECK(log.find("\"versions\":[\"v1\"]") != std::string::npos);

  // The old workers finish their work.
  for (const auto& id : pending) db.SetStatus(id, "SUCCESS");
  for (const auto& id : enqueued) db.SetStatus(id, "ERROR");
  HttpReply ok = PollUntil([&] { return server.Post(kRoute, FlaggerPayload({{"version", "v1"}})); },
                           [](const HttpReply& x) { return x.status == 200; });
  INFO(ok.body);
  REQUIRE(ok.status == 200);
  CHECK(ok.Header("content-type") == "application/json");
  json done = json::parse(ok.body);
  CHECK(done["drained"] == true);
  CHECK(done["versions"] == json::array({"v1"}));
  CHECK(done["message"] == "v1 safe to retire: nothing in flight, no start in the last 2m");
  CHECK(testing::WaitUntil([&] { return server.Stderr().find("\"verdict\":\"safe_to_retire\"") != std::string::npos; }, 5s));

  // A comma-separated list: both must be drained; v2 still has work.
  HttpReply both = server.Post(kRoute, FlaggerPayload({{"version", "v1, v2"}}));
  CHECK(both.status == 409);
  CHECK(FirstLine(both) == "v2 not safe to retire: latest, in_flight (1 pending, oldest 1h)");

  // A version nobody ever ran holds the gate (a typo must not promote).
  HttpReply typo = server.Post(kRoute, FlaggerPayload({{"version", "v1.0-typo"}}));
  CHECK(typo.status == 409);
  CHECK_THAT(FirstLine(typo), Catch::StartsWith("v1.0-typo not safe to retire: unknown_version (\"v1.0-typo\" is unknown)"));
}

TEST_CASE("flagger http: all but latest, two versions", "[flagger][http]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(2h));
  db.InsertVersion("v2", AgoMs(5min));
  // The canary's own work never holds its promotion.
  db.InsertWorkflows(5, Workflow("PENDING").Version("v2"));
  db.InsertWorkflows(3, Workflow("SUCCESS").Version("v1").CreatedAgo(1h));
  DrainService server(Config(db));

  HttpReply r = server.Post(kRoute, FlaggerPayload());
  INFO(r.body);
  REQUIRE(r.status == 200);
  json doc = json::parse(r.body);
  CHECK(doc["drained"] == true);
  CHECK(doc["selection"] == "all_but_latest");
  CHECK(doc["latest_version"] == "v2");
  CHECK(doc["versions"] == json::array({"v1"}));

  // Recovered work of v1 appears: the gate holds again.
  db.InsertWorkflow(Workflow("PENDING").Version("v1").CreatedAgo(1h + 30min + 20s));
  HttpReply held = PollUntil([&] { return server.Post(kRoute, FlaggerPayload()); },
                             [](const HttpReply& x) { return x.status == 409; });
  CHECK(held.status == 409);
  CHECK(FirstLine(held) == "v1 not safe to retire: in_flight (1 pending, oldest 1h 30m)");
}

TEST_CASE("flagger http: all but latest, three versions", "[flagger][http]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(3h));
  db.InsertVersion("v2", AgoMs(2h));
  db.InsertVersion("v3", AgoMs(10min));
  db.InsertWorkflows(2, Workflow("SUCCESS").Version("v1").CreatedAgo(1h));
  auto v2 = db.InsertWorkflows(2, Workflow("ENQUEUED").Version("v2").Queue("emails").CreatedAgo(3h + 3min + 20s));
  db.InsertWorkflows(4, Workflow("PENDING").Version("v3"));
  DrainService server(Config(db));

  HttpReply r = server.Post(kRoute, FlaggerPayload());
  INFO(r.body);
  CHECK(r.status == 409);
  CHECK(FirstLine(r) == "v2 not safe to retire: in_flight (2 enqueued (emails), oldest 3h 3m)");
  json doc = SecondLineJson(r);
  CHECK(doc["versions"] == json::array({"v1", "v2"}));
  CHECK(doc["latest_version"] == "v3");
  CHECK(doc["results"][0]["drained"] == true);
  CHECK(doc["results"][1]["drained"] == false);

  for (const auto& id : v2) db.SetStatus(id, "CANCELLED");
  HttpReply ok = PollUntil([&] { return server.Post(kRoute, FlaggerPayload()); },
                           [](const HttpReply& x) { return x.status == 200; });
  REQUIRE(ok.status == 200);
  CHECK(json::parse(ok.body)["versions"] == json::array({"v1", "v2"}));
}

TEST_CASE("flagger http: NULL-version enqueued rows do not block the old version", "[flagger][http]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(2h));
  db.InsertVersion("v2", AgoMs(5min));
  // Enqueued by a client without a version: only v2's workers take them.
  db.InsertWorkflows(5, Workflow("ENQUEUED").Version(std::nullopt).Queue("tasks").Executor(std::string("")));
  DrainService server(Config(db));

  CHECK(server.Post(kRoute, FlaggerPayload()).status == 200);
  CHECK(server.Post(kRoute, FlaggerPayload({{"version", "v1"}})).status == 200);
  HttpReply latest = server.Post(kRoute, FlaggerPayload({{"version", "v2"}}));
  CHECK(latest.status == 409);
  CHECK_THAT(FirstLine(latest), Catch::StartsWith("v2 not safe to retire: latest, in_flight (5 enqueued (tasks)"));
}

TEST_CASE("flagger http: scoped by --application; metadata.application must match", "[flagger][http]") {
  TestDatabase db;
  db.InsertVersion("a1", AgoMs(2h), std::string("app-a"));
  db.InsertVersion("a2", AgoMs(5min), std::string("app-a"));
  db.InsertVersion("b1", AgoMs(1min), std::string("app-b"));  // another app, registered later
  db.InsertWorkflows(2, Workflow("PENDING").Version("b1").Application(std::string("app-b")));
  db.InsertWorkflows(1, Workflow("PENDING").Version("a2").Application(std::string("app-a")));
  DrainService server(Config(db, {"--application", "app-a"}));

  // app-b's work and registration are invisible: latest is a2, a1 has drained.
  HttpReply r = server.Post(kRoute, FlaggerPayload({{"application", "app-a"}}));
  INFO(r.body);
  REQUIRE(r.status == 200);
  json doc = json::parse(r.body);
  CHECK(doc["latest_version"] == "a2");
  CHECK(doc["versions"] == json::array({"a1"}));
  CHECK(doc["application"] == "app-a");
  CHECK(server.Post(kRoute, FlaggerPayload()).status == 200);

  HttpReply other = server.Post(kRoute, FlaggerPayload({{"application", "app-b"}, {"version", "b1"}}));
  CHECK(other.status == 422);
  json e = ErrorOf(other);
  CHECK(e["code"] == "unprocessable");
  CHECK_THAT(e["message"].get<std::string>(), Catch::Contains("serves application \"app-a\""));

  // A server without --application cannot answer for one application.
  DrainService unscoped(Config(db));
  HttpReply u = unscoped.Post(kRoute, FlaggerPayload({{"application", "app-a"}}));
  CHECK(u.status == 422);
  CHECK_THAT(ErrorOf(u)["message"].get<std::string>(), Catch::Contains("--application"));
}

TEST_CASE("flagger http: every error status", "[flagger][http]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(2h));
  db.InsertVersion("v2", AgoMs(5min));
  DrainService server(Config(db));

  SECTION("400 malformed JSON") {
    HttpReply r = server.Post(kRoute, "{\"name\": \"podinfo\",");
    CHECK(r.status == 400);
    json e = ErrorOf(r);
    CHECK(e["code"] == "bad_request");
    CHECK_THAT(e["message"].get<std::string>(), Catch::Contains("not valid JSON"));
  }
  SECTION("400 wrong types say which field") {
    HttpReply r = server.Post(kRoute, R"({"name":"podinfo","namespace":"test","metadata":{"version":2}})");
    CHECK(r.status == 400);
    CHECK_THAT(ErrorOf(r)["message"].get<std::string>(), Catch::Contains("metadata.version must be a string"));
    HttpReply n = server.Post(kRoute, R"({"name":["podinfo"]})");
    CHECK(n.status == 400);
    CHECK_THAT(ErrorOf(n)["message"].get<std::string>(), Catch::Contains("\"name\" must be a string, got array"));
    CHECK(server.Post(kRoute, "[]").status == 400);
    CHECK(server.Post(kRoute, "").status == 400);
  }
  SECTION("413 body over 64 KiB") {
    std::string big = R"({"name":"podinfo","metadata":{"pad":")" + std::string(70 * 1024, 'x') + "\"}}";
    HttpReply r = server.Post(kRoute, big);
    CHECK(r.status == 413);
    CHECK(ErrorOf(r)["code"] == "payload_too_large");
    // Also when the size is not announced (chunked upload).
    std::string chunked;
    for (size_t off = 0; off < big.size(); off += 8192) {
      std::string part = big.substr(off, 8192);
      char len[16];
      std::snprintf(len, sizeof len, "%zx", part.size());
      chunked += std::string(len) + "\r\n" + part + "\r\n";
    }
    chunked += "0\r\n\r\n";
    RequestOptions upload;
    upload.headers = {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}};
    upload.body = chunked;
    HttpReply c = server.Request("POST", kRoute, upload);
    CHECK(c.status == 413);
    // Exactly 64 KiB is accepted.
    std::string edge = R"({"metadata":{"pad":")";
    edge += std::string(64 * 1024 - edge.size() - 3, 'x') + "\"}}";
    REQUIRE(edge.size() == 64 * 1024);
    CHECK(server.Post(kRoute, edge).status == 200);
  }
  SECTION("415 wrong or missing content type; parameters are fine") {
    HttpReply r = server.Post(kRoute, FlaggerPayload(), "text/plain");
    CHECK(r.status == 415);
    CHECK(ErrorOf(r)["code"] == "unsupported_media_type");
    CHECK(server.Post(kRoute, FlaggerPayload(), "").status == 415);
    CHECK(server.Post(kRoute, FlaggerPayload(), "application/x-www-form-urlencoded").status == 415);
    CHECK(server.Post(kRoute, FlaggerPayload(), "application/json; charset=utf-8").status == 200);
    CHECK(server.Post(kRoute, FlaggerPayload(), "Application/JSON;charset=UTF-8").status == 200);
  }
  SECTION("405 for GET") {
    HttpReply r = server.Get(kRoute);
    CHECK(r.status == 405);
    CHECK(r.Header("allow") == "POST");
  }
  SECTION("errors are logged") {
    server.Post(kRoute, "{", "application/json");
    CHECK(testing::WaitUntil([&] { return server.Stderr().find("flagger confirm-promotion refused") != std::string::npos; },
                             5s));
  }
}

TEST_CASE("flagger http: 422 when the versions cannot be told", "[flagger][http]") {
  SECTION("no application_versions table (older SDK)") {
    TestDatabase old("schema-ts-3x.sql");
    old.InsertWorkflows(1, Workflow("PENDING").Version("v1").CreatedAgo(1h + 20s));
    DrainService server(Config(old));
    HttpReply r = server.Post(kRoute, FlaggerPayload());
    CHECK(r.status == 422);
    json e = ErrorOf(r);
    CHECK(e["code"] == "unprocessable");
    CHECK_THAT(e["message"].get<std::string>(), Catch::Contains("metadata.version is required"));
    // Naming the version works on that schema.
    HttpReply named = server.Post(kRoute, FlaggerPayload({{"version", "v1"}}));
    CHECK(named.status == 409);
    CHECK(FirstLine(named) == "v1 not safe to retire: in_flight (1 pending, oldest 1h)");
  }
  SECTION("nothing registered yet") {
    TestDatabase db;
    db.InsertWorkflows(1, Workflow("PENDING").Version("v1"));
    DrainService server(Config(db));
    HttpReply r = server.Post(kRoute, FlaggerPayload());
    CHECK(r.status == 422);
    CHECK_THAT(ErrorOf(r)["message"].get<std::string>(), Catch::Contains("no version is registered"));
  }
}

TEST_CASE("flagger http: 503 when the database cannot be read, never a 2xx", "[flagger][http]") {
  TestDatabase db;
  DrainService server(UnreadableConfig(db));
  for (const auto& body : {FlaggerPayload(), FlaggerPayload({{"version", "v1"}})}) {
    HttpReply r = server.Post(kRoute, body);
    INFO(r.body);
    CHECK(r.status == 503);
    CHECK(r.Header("retry-after") == "1");
    CHECK(ErrorOf(r)["code"] == "database_unavailable");
  }
  // Payload errors are still answered as such.
  CHECK(server.Post(kRoute, "{").status == 400);
  CHECK(testing::WaitUntil([&] { return server.Stderr().find("flagger confirm-promotion: database unreadable") != std::string::npos; },
                           5s));
}

TEST_CASE("flagger http: hostile version names stay on the first line", "[flagger][http]") {
  const std::string hostile = "v\"1\nHTTP/1.1 200 OK\\ ü";
  TestDatabase db;
  db.InsertVersion(hostile, AgoMs(2h));
  db.InsertVersion("v2", AgoMs(5min));
  db.InsertWorkflows(1, Workflow("ENQUEUED").Version(hostile).Queue("q\n\"x\"").CreatedAgo(2h + 20s));
  DrainService server(Config(db));

  for (const auto& body : {FlaggerPayload(), FlaggerPayload({{"version", hostile}})}) {
    HttpReply r = server.Post(kRoute, body);
    INFO(r.body);
    CHECK(r.status == 409);
    CHECK(std::count(r.body.begin(), r.body.end(), '\n') == 2);
    CHECK(FirstLine(r) == "v\"1\\nHTTP/1.1 200 OK\\\\ ü not safe to retire: in_flight (1 enqueued (q\\n\"x\"), oldest 2h)");
    CHECK(SecondLineJson(r)["versions"] == json::array({hostile}));
  }
}

}  // namespace dbos_drain::servicetest
