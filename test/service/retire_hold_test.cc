// Issue 24 over real HTTP against the real binary and PostgreSQL with SDK-shaped rows: the set
// verdict (GET /v1/retire?keep=), the pod hold (GET /v1/hold, a long poll) and the Argo
// blue-green template that gates on the set verdict.
#include <catch2/catch.hpp>

#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "drain_service.h"

namespace dbos_drain::servicetest {
namespace {

using nlohmann::json;
using testing::AgoMs;
using testing::SourceDir;
using testing::TestDatabase;
using testing::Workflow;
using namespace std::chrono_literals;

// v1: finished days ago (hidden by default); v2: superseded, 2 PENDING on its pod; v3: latest.
struct ThreeVersions {
  TestDatabase db;
  std::vector<std::string> v2_rows;
  ThreeVersions() {
    db.InsertVersion("v1", AgoMs(72h));
    db.InsertVersion("v2", AgoMs(2h));
    db.InsertVersion("v3", AgoMs(10min));
    db.InsertWorkflow(Workflow("SUCCESS").Version("v1").Executor("pod-v1").CreatedAgo(70h).CompletedAgo(70h));
    v2_rows = db.InsertWorkflows(2, Workflow("PENDING").Version("v2").Executor("pod-v2").CreatedAgo(1h));
  }
  void DrainV2() const {
    for (const auto& id : v2_rows) db.Finish(id);
  }
};

json Body(const HttpReply& r) {
  INFO(r.Describe());
  REQUIRE(r.Header("content-type") == "application/json");
  return json::parse(r.body);
}

std::vector<std::string> Codes(const json& verdict, const std::string& version) {
  std::vector<std::string> out;
  for (const auto& b : verdict.at("blockers")) {
    if (b.at("version") == version) out.push_back(b.at("code"));
  }
  return out;
}

bool Judged(const json& verdict, const std::string& version) {
  for (const auto& v : verdict.at("judged")) {
    if (v == version) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("retire http: every version but keep, hidden ones included, fail closed on an unknown keep", "[retire][http]") {
  ThreeVersions fx;
  DrainService svc(Config(fx.db));

  // The default listing hides v1; the set verdict still judges it.
  json listing = Body(svc.Get("/v1/versions"));
  CHECK(listing.at("hidden_versions") == 1);

  HttpReply r = svc.Get("/v1/retire?keep=v3");
  REQUIRE(r.status == 200);
  json v = Body(r);
  CHECK(v.at("safe_to_retire") == false);
  CHECK(v.at("keep") == json::array({"v3"}));
  CHECK(Judged(v, "v1"));
  CHECK(Judged(v, "v2"));
  CHECK_FALSE(Judged(v, "v3"));
  CHECK(Codes(v, "v2") == std::vector<std::string>{"in_flight"});
  CHECK(Codes(v, "v1").empty());
  CHECK(v.at("latest_version") == "v3");
  CHECK(v.contains("age_seconds"));
  // The same answer as the one-version route for v2.
  CHECK(Body(svc.Get("/v1/versions/v2")).at("safe_to_retire") == false);

  // A keep not registered yet (the new pods have not launched): v3, the latest, is judged and blocks.
  json unknown = Body(svc.Get("/v1/retire?keep=v4-new"));
  CHECK(unknown.at("safe_to_retire") == false);
  CHECK(Judged(unknown, "v3"));
  CHECK(Codes(unknown, "v3") == std::vector<std::string>{"latest"});

  // Bad keeps: a clear 400, nothing judged.
  for (const std::string target : {"/v1/retire", "/v1/retire?keep=", "/v1/retire?keep=v1,,v2", "/v1/retire?keep=%zz"}) {
    HttpReply bad = svc.Get(target);
    INFO(target << " -> " << bad.Describe());
    CHECK(IsJsonError(bad, 400, "bad_request"));
  }
  CHECK(svc.Request("POST", "/v1/retire?keep=v3").status == 405);

  // Every gate agrees on the same data: status --keep exits 1 now.
  auto status_keep = [&] { return testing::RunDrain({"status", "--keep", "v3", "--database-url", fx.db.url()}).exit_code; };
  CHECK(status_keep() == 1);

  // Once v2 drains, everything but v3 may go.
  fx.DrainV2();
  HttpReply safe = PollUntil(svc, "/v1/retire?keep=v3",
                             [](const HttpReply& x) { return x.status == 200 && x.Json().at("safe_to_retire") == true; }, 10s);
  INFO(safe.Describe());
  json after = Body(safe);
  CHECK(after.at("safe_to_retire") == true);
  CHECK(after.at("blockers").empty());
  CHECK(Judged(after, "v1"));
  CHECK(Judged(after, "v2"));
  CHECK(status_keep() == 0);
  // keep=v3 and keep=v2,v3 agree; keeping only v2 judges the latest.
  CHECK(Body(svc.Get("/v1/retire?keep=v2,v3")).at("safe_to_retire") == true);
  CHECK(Codes(Body(svc.Get("/v1/retire?keep=v2")), "v3") == std::vector<std::string>{"latest"});
}

TEST_CASE("retire http: 503 with the error shape when the database cannot be read", "[retire][http]") {
  TestDatabase db;
  DrainService svc(UnreadableConfig(db));
  HttpReply r = svc.Get("/v1/retire?keep=v3");
  INFO(r.Describe());
  CHECK(r.status == 503);
  CHECK(Body(r).at("error").at("code").get<std::string>().size() > 0);
}

// The blue-green template: its URL with {{args.keep}} filled as Argo fills it (the new
// ReplicaSet's hash, podTemplateHashValue: Latest) and its successCondition, against the live API.
TEST_CASE("examples/argo/analysis-template-retire.yaml gates on the set verdict", "[retire][http][argo]") {
  const std::string path = SourceDir() + "/examples/argo/analysis-template-retire.yaml";
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<std::string> urls, conditions;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, std::regex(R"(\s*url:\s*\"?([^\"]+)\"?\s*)"))) urls.push_back(m[1]);
    if (std::regex_match(line, m, std::regex(R"(\s*successCondition:\s*(.+?)\s*)"))) conditions.push_back(m[1]);
  }
  REQUIRE(urls.size() >= 2);  // the AnalysisTemplate and its ClusterAnalysisTemplate twin
  REQUIRE(conditions.size() == urls.size());

  ThreeVersions fx;
  DrainService svc(Config(fx.db));
  for (size_t i = 0; i < urls.size(); ++i) {
    INFO(urls[i] << "  " << conditions[i]);
    CHECK(conditions[i] == "result.safe_to_retire == true");
    std::smatch u;
    REQUIRE(std::regex_match(urls[i], u, std::regex(R"(https?://[^/]+(/.*))")));
    const std::string tmpl = u[1];
    REQUIRE(tmpl.find("{{args.keep}}") != std::string::npos);
    auto measure = [&](const std::string& keep) {
      HttpReply r = svc.Get(std::regex_replace(tmpl, std::regex(R"(\{\{args\.keep\}\})"), keep));
      INFO(r.Describe());
      REQUIRE(r.status == 200);  // Argo counts any non-2xx as an Error
      return r.Json().at("safe_to_retire").get<bool>();
    };
    // The issue's case: v2 superseded with work, v3 the new one. Asking about the Stable hash
    // alone (v2's predecessor) would have said yes; the set verdict says no.
    CHECK(measure("v3") == false);
    CHECK(measure("v4") == false);  // new pods not registered yet: v3 is still latest
  }
  fx.DrainV2();
  PollUntil(svc, "/v1/retire?keep=v3", [](const HttpReply& x) { return x.status == 200 && x.Json().at("safe_to_retire") == true; }, 10s);
  const std::string tmpl = std::regex_replace(urls[0], std::regex(R"(https?://[^/]+)"), "");
  HttpReply r = svc.Get(std::regex_replace(tmpl, std::regex(R"(\{\{args\.keep\}\})"), "v3"));
  CHECK(r.Json().at("safe_to_retire") == true);
}

TEST_CASE("hold http: held while the executor has PENDING work, released once it finishes; the bound", "[hold][http]") {
  ThreeVersions fx;
  DrainService svc(Config(fx.db));

  // The bound: 409, still held, with the reason.
  HttpReply bound = svc.Get("/v1/hold?version=v2&executor=pod-v2&timeout=1");
  INFO(bound.Describe());
  CHECK(bound.status == 409);
  json b = Body(bound);
  CHECK(b.at("release") == false);
  CHECK(b.at("bound_passed") == true);
  CHECK(b.at("code") == "own_pending");
  CHECK(bound.elapsed >= 900ms);
  CHECK(bound.elapsed < 5s);

  // Another executor of v2 with no PENDING rows of its own and nothing queued: released.
  HttpReply other = svc.Get("/v1/hold?version=v2&executor=pod-v2-b&timeout=10");
  INFO(other.Describe());
  CHECK(other.status == 200);
  CHECK(Body(other).at("code") == "released");

  // A typo in the version holds (fail closed) until the bound.
  HttpReply typo = svc.Get("/v1/hold?version=v2-typo&executor=pod-v2&timeout=1");
  CHECK(typo.status == 409);
  CHECK(Body(typo).at("code") == "unknown_version");

  // Held, then released by the rule once the pod's work finishes: within one refresh + 1 s.
  auto held = std::async(std::launch::async, [&] {
    return svc.Get("/v1/hold?version=v2&executor=pod-v2&timeout=20", WithTimeout(30s));
  });
  CHECK(held.wait_for(1500ms) == std::future_status::timeout);
  const auto drained_at = Clock::now();
  fx.DrainV2();
  HttpReply released = held.get();
  INFO(released.Describe());
  CHECK(released.status == 200);
  CHECK(Body(released).at("release") == true);
  CHECK(Since(drained_at) < 1200ms + 1s);  // --refresh 200ms in tests

  // Bad requests.
  CHECK(IsJsonError(svc.Get("/v1/hold?version=v2"), 400, "bad_request"));
  CHECK(IsJsonError(svc.Get("/v1/hold?version=v2&executor=e&timeout=-1"), 400, "bad_request"));
  CHECK(IsJsonError(svc.Get("/v1/hold?version=v2&executor=e&timeout=soon"), 400, "bad_request"));
}

TEST_CASE("hold http: a database that cannot be read holds", "[hold][http]") {
  TestDatabase db;
  DrainService svc(UnreadableConfig(db));
  HttpReply r = svc.Get("/v1/hold?version=v2&executor=pod-v2&timeout=1");
  INFO(r.Describe());
  CHECK(r.status == 409);
  json j = Body(r);
  CHECK(j.at("release") == false);
  CHECK(j.at("code") == "database_unreadable");
}

}  // namespace dbos_drain::servicetest

namespace dbos_drain::servicetest {

TEST_CASE("hold http: a stopping serve answers its holders 503 at once and exits 0", "[hold][http]") {
  ThreeVersions fx;
  DrainService svc(Config(fx.db));
  auto held = std::async(std::launch::async, [&] {
    return svc.Get("/v1/hold?version=v2&executor=pod-v2&timeout=30", WithTimeout(40s));
  });
  REQUIRE(held.wait_for(1s) == std::future_status::timeout);  // holding
  const auto stop = Clock::now();
  auto result = svc.Stop();
  HttpReply r = held.get();
  INFO(r.Describe() << "\n" << result.Describe());
  CHECK(IsJsonError(r, 503, "shutting_down"));
  CHECK(result.exit_code == 0);
  CHECK(Since(stop) < 6s);
}

}  // namespace dbos_drain::servicetest

namespace dbos_drain::servicetest {

TEST_CASE("hold http: holders filling --max-connections give way to probes and pollers", "[hold][http][connections]") {
  ThreeVersions fx;
  DrainService svc(Config(fx.db, {"--max-connections", "8"}));
  // 8 pods hold (v2's executor has PENDING work): the cap is full of long polls.
  std::vector<std::future<HttpReply>> holders;
  for (int i = 0; i < 8; ++i) {
    holders.push_back(std::async(std::launch::async, [&] {
      return svc.Get("/v1/hold?version=v2&executor=pod-v2&timeout=20", WithTimeout(30s));
    }));
  }
  for (auto& h : holders) REQUIRE(h.wait_for(1500ms) == std::future_status::timeout);  // all held
  // Probes and pollers still get in: each newcomer displaces the holder waiting longest.
  for (const char* target : {"/healthz", "/readyz", "/v1/versions/v2", "/v1/retire?keep=v3"}) {
    HttpReply r = svc.Get(target, WithTimeout(5s));
    INFO(target << ": " << r.Describe());
    CHECK(r.status == 200);
  }
  // A displaced holder got no release: its connection closed without an answer (the snippets
  // then ask again); the others are still held.
  std::this_thread::sleep_for(1s);
  int closed_without_answer = 0, still_held = 0;
  for (auto& h : holders) {
    if (h.wait_for(0s) == std::future_status::timeout) {
      ++still_held;
      continue;
    }
    HttpReply r = h.get();
    INFO(r.Describe());
    CHECK(r.status == 0);  // never a 200
    ++closed_without_answer;
  }
  // One displacement makes room; the probes' own connections close after their answers, so the
  // next probe finds that room free and no further holder has to go.
  CHECK(closed_without_answer >= 1);
  CHECK(still_held >= 4);
  CHECK(closed_without_answer + still_held == 8);
  fx.DrainV2();  // the rest are released by the rule
  for (auto& h : holders) {
    if (!h.valid()) continue;
    HttpReply r = h.get();
    INFO(r.Describe());
    CHECK(r.status == 200);
  }
}

}  // namespace dbos_drain::servicetest
