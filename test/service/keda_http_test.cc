// GET /v1/queues/{queue}[?version=V] for KEDA's metrics-api scaler, against the real binary and
// a real PostgreSQL: fields, status codes, hostile names.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "drain_service.h"

namespace dbos_drain::servicetest {
namespace {

using nlohmann::json;
using testing::AgoMs;
using testing::TestDatabase;
using testing::Workflow;
using testing::NowMs;
using namespace std::chrono_literals;

json Body(const HttpReply& r) {
  INFO(r.body);
  REQUIRE(r.Header("content-type") == "application/json");
  return json::parse(r.body);
}

}  // namespace

TEST_CASE("keda http: queue utilization, desired workers and per-version numbers", "[keda][http]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(2h));
  db.InsertVersion("v2", AgoMs(5min));
  db.InsertQueue("tasks", 10, 2);
  db.InsertQueue("global-only", 4, std::nullopt);
  db.InsertWorkflows(3, Workflow("ENQUEUED").Version("v1").Queue("tasks"));
  db.InsertWorkflows(1, Workflow("PENDING").Version("v1").Queue("tasks"));
  db.InsertWorkflows(1, Workflow("DELAYED").Version("v1").Queue("tasks").DelayUntil(NowMs() + 60'000));
  db.InsertWorkflows(1, Workflow("PENDING").Version("v2").Queue("tasks"));
  db.InsertWorkflows(2, Workflow("ENQUEUED").Version(std::nullopt).Queue("tasks").Executor(std::string("")));
  db.InsertWorkflows(4, Workflow("SUCCESS").Version("v1").Queue("tasks"));
  db.InsertWorkflows(3, Workflow("ENQUEUED").Version("v2").Queue("global-only"));
  db.InsertWorkflows(5, Workflow("ENQUEUED").Version("v2").Queue("code-only"));
  DrainService server(Config(db));

  SECTION("all versions") {
    HttpReply r = server.Get("/v1/queues/tasks");
    REQUIRE(r.status == 200);
    json d = Body(r);
    CHECK(d["queue"] == "tasks");
    CHECK(d["known"] == true);
    CHECK(d["version"].is_null());
    CHECK(d["queue_utilization"] == 7);  // PENDING + ENQUEUED: 1 + 1 + 3 + 2
    CHECK(d["pending"] == 2);
    CHECK(d["enqueued"] == 5);
    CHECK(d["delayed"] == 1);
    CHECK(d["worker_concurrency"] == 2);
    CHECK(d["concurrency"] == 10);
    CHECK(d["desired_workers"] == 4);  // ceil(7 / 2)
    CHECK(d["as_of"].is_string());
    CHECK(d["age_seconds"].is_number());
  }
  SECTION("?version= restricts to one version's rows") {
    json v1 = Body(server.Get("/v1/queues/tasks?version=v1"));
    CHECK(v1["version"] == "v1");
    CHECK(v1["queue_utilization"] == 4);
    CHECK(v1["pending"] == 1);
    CHECK(v1["enqueued"] == 3);
    CHECK(v1["delayed"] == 1);
    CHECK(v1["desired_workers"] == 2);
    // The latest version's numbers include the NULL-version rows only its workers dequeue.
    json v2 = Body(server.Get("/v1/queues/tasks?version=v2"));
    CHECK(v2["queue_utilization"] == 3);
    CHECK(v2["pending"] == 1);
    CHECK(v2["enqueued"] == 2);
    CHECK(v2["desired_workers"] == 2);
    // A version without rows in this queue: zeros, still 200.
    HttpReply none = server.Get("/v1/queues/tasks?version=v0");
    CHECK(none.status == 200);
    json n = Body(none);
    CHECK(n["queue_utilization"] == 0);
    CHECK(n["desired_workers"] == 0);
    CHECK(n["known"] == true);
  }
  SECTION("unknown queue: 404 JSON (the queues table says it does not exist)") {
    HttpReply r = server.Get("/v1/queues/no-such-queue");
    REQUIRE(r.status == 404);
    json d = Body(r);
    CHECK(d["drained"] == false);
    CHECK(d["error"]["code"] == "not_found");
    CHECK(d["error"]["message"].get<std::string>().find("\"no-such-queue\"") != std::string::npos);
  }
  SECTION("concurrency unknown: desired_workers null") {
    json g = Body(server.Get("/v1/queues/global-only"));
    CHECK(g["known"] == true);
    CHECK(g["queue_utilization"] == 3);
    CHECK(g["worker_concurrency"].is_null());
    CHECK(g["concurrency"] == 4);
    CHECK(g["desired_workers"].is_null());
    json c = Body(server.Get("/v1/queues/code-only"));  // rows but no queues-table entry
    CHECK(c["known"] == true);
    CHECK(c["queue_utilization"] == 5);
    CHECK(c["worker_concurrency"].is_null());
    CHECK(c["desired_workers"].is_null());
  }
  SECTION("bad requests: 400") {
    CHECK(server.Get("/v1/queues/tasks?version=").status == 400);
    CHECK(server.Get("/v1/queues/tasks?version").status == 400);
    CHECK(server.Get("/v1/queues/%zz").status == 400);
    CHECK(server.Get("/v1/queues/a%00b").status == 400);
    CHECK(server.Get("/v1/queues/").status == 400);
  }
  SECTION("HEAD answers like GET without a body") {
    HttpReply h = server.Request("HEAD", "/v1/queues/tasks");
    CHECK(h.status == 200);
    CHECK(h.body.empty());
  }
}

TEST_CASE("keda http: the numbers follow the database", "[keda][http]") {
  TestDatabase db;
  db.InsertQueue("tasks", std::nullopt, 3);
  auto ids = db.InsertWorkflows(7, Workflow("ENQUEUED").Version("v1").Queue("tasks"));
  DrainService server(Config(db));
  json d = Body(server.Get("/v1/queues/tasks"));
  CHECK(d["queue_utilization"] == 7);
  CHECK(d["desired_workers"] == 3);
  for (const auto& id : ids) db.SetStatus(id, "SUCCESS");
  HttpReply r = PollUntil([&] { return server.Get("/v1/queues/tasks"); },
                          [](const HttpReply& x) { return json::parse(x.body)["queue_utilization"] == 0; });
  json z = Body(r);
  CHECK(z["queue_utilization"] == 0);
  CHECK(z["desired_workers"] == 0);
}

TEST_CASE("keda http: older schema without a queues table", "[keda][http]") {
  TestDatabase old("schema-ts-3x.sql");
  old.InsertWorkflows(2, Workflow("ENQUEUED").Version("v1").Queue("tasks"));
  DrainService server(Config(old));
  json d = Body(server.Get("/v1/queues/tasks"));
  CHECK(d["known"] == true);
  CHECK(d["queue_utilization"] == 2);
  CHECK(d["worker_concurrency"].is_null());
  CHECK(d["desired_workers"].is_null());
  // No queues table: a name cannot be checked, so an idle or unknown queue is zeros, known false.
  json idle = Body(server.Get("/v1/queues/other"));
  CHECK(idle["known"] == false);
  CHECK(idle["queue_utilization"] == 0);
}

TEST_CASE("keda http: database error is 503", "[keda][http]") {
  TestDatabase db;
  DrainService server(UnreadableConfig(db));
  HttpReply r = server.Get("/v1/queues/tasks");
  CHECK(r.status == 503);
  json d = Body(r);
  CHECK(d["error"]["code"] == "database_unavailable");
  CHECK(server.Get("/v1/queues/tasks?version=v1").status == 503);
}

TEST_CASE("keda http: hostile queue and version names round-trip through JSON", "[keda][http]") {
  const std::string queue = "q\"uo\\te\nnl → 日本 'x' {}";
  const std::string version = "v\"1\\\n2 ü";
  TestDatabase db;
  db.InsertVersion(version, AgoMs(1h));
  db.InsertQueue(queue, 5, 2);
  db.InsertWorkflows(3, Workflow("ENQUEUED").Version(version).Queue(queue));
  DrainService server(Config(db));

  HttpReply r = server.Get("/v1/queues/" + PercentEncode(queue));
  REQUIRE(r.status == 200);
  json d = Body(r);
  CHECK(d["queue"] == queue);
  CHECK(d["known"] == true);
  CHECK(d["queue_utilization"] == 3);
  CHECK(d["desired_workers"] == 2);

  json v = Body(server.Get("/v1/queues/" + PercentEncode(queue) + "?version=" + PercentEncode(version)));
  CHECK(v["version"] == version);
  CHECK(v["queue_utilization"] == 3);
}

}  // namespace dbos_drain::servicetest
