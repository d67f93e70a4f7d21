// The hold board (lib/serve/hold_board.h) in process over a real ReportCache whose reader returns
// the snapshots the test sets: held, released by the rule, the bound, shutdown, auth. No sockets.
#include <catch2/catch.hpp>

#include <future>

#include "api_fixture.h"
#include "hold_board.h"

using namespace dbos_drain;
using namespace dbos_drain::api_test;
using namespace std::chrono_literals;

namespace {

Api::Config Fast() {
  Api::Config c;
  c.refresh = 50ms;
  c.max_staleness = 2s;
  return c;
}

// Registers a holder; the future gets its answer.
std::future<HttpResponse> Hold(HoldBoard& board, const std::string& version, const std::string& executor,
                               std::chrono::milliseconds bound) {
  auto p = std::make_shared<std::promise<HttpResponse>>();
  auto f = p->get_future();
  board.Hold({version, executor}, bound, [p](HttpResponse r) { p->set_value(std::move(r)); });
  return f;
}

nlohmann::json Body(const HttpResponse& r) { return nlohmann::json::parse(r.body); }

}  // namespace

TEST_CASE("hold board: held by own PENDING work, answered at the bound, released once the work ends", "[hold]") {
  Api api(Fast());
  HoldBoard board(api.cache(), 60s, 10s);

  auto bounded = Hold(board, "v1", "worker-1", 300ms);
  REQUIRE(bounded.wait_for(5s) == std::future_status::ready);
  HttpResponse b = bounded.get();
  CHECK(b.status == 409);
  CHECK(Body(b).at("code") == "own_pending");
  CHECK(Body(b).at("bound_passed") == true);

  auto held = Hold(board, "v1", "worker-1", 30s);
  CHECK(held.wait_for(300ms) == std::future_status::timeout);
  CHECK(board.holding() == 1);
  api.SetSnapshot(RetirableSnapshot());
  REQUIRE(held.wait_for(2s) == std::future_status::ready);
  HttpResponse r = held.get();
  CHECK(r.status == 200);
  CHECK(Body(r).at("release") == true);
  CHECK(board.holding() == 0);
}

TEST_CASE("hold board: 1,000 holders share one pass per report, and shutdown answers the rest 503", "[hold]") {
  Api api(Fast());
  HoldBoard board(api.cache(), 60s, 10s);
  std::vector<std::future<HttpResponse>> own, others;
  for (int i = 0; i < 500; ++i) own.push_back(Hold(board, "v1", "worker-1", 30s));
  // v1 has 1 ENQUEUED row and no executor known alive: another executor of v1 holds too.
  for (int i = 0; i < 500; ++i) others.push_back(Hold(board, "v1", "pod-" + std::to_string(i), 30s));
  std::this_thread::sleep_for(300ms);
  CHECK(board.holding() == 1000);
  const uint64_t reads = api.cache().refresh_count();
  CHECK(reads < 50);  // reads follow the refresh interval, not the number of holders
  board.Shutdown();
  for (auto* set : {&own, &others}) {
    for (auto& f : *set) {
      REQUIRE(f.wait_for(1s) == std::future_status::ready);
      CHECK(f.get().status == 503);
    }
  }
  auto late = Hold(board, "v1", "worker-1", 30s);
  REQUIRE(late.wait_for(100ms) == std::future_status::ready);
  CHECK(late.get().status == 503);
}

TEST_CASE("hold: through the API without a board is 503; a bad token is 401 before any hold", "[hold]") {
  Api plain;
  HttpResponse none = plain.Get("/v1/hold?version=v1&executor=worker-1");
  CHECK(none.status == 503);
  CHECK(Body(none).at("error").at("code") == "hold_unavailable");

  Api::Config c = Fast();
  c.authorize = [](const std::string& header) { return header == "Bearer right"; };
  Api api(c);
  HoldBoard board(api.cache(), 60s, 10s);
  api.ctx().holds = &board;
  HttpRequest req;
  req.method = "GET";
  req.target = "/v1/hold?version=v1&executor=worker-1&timeout=1";
  req.authorization = "Bearer wrong";
  std::promise<HttpResponse> p;
  CHECK(StartHold(api.ctx(), req, [&p](HttpResponse r) { p.set_value(std::move(r)); }));
  auto answer = p.get_future();
  REQUIRE(answer.wait_for(0s) == std::future_status::ready);  // at once, no hold
  CHECK(answer.get().status == 401);
  CHECK(board.holding() == 0);
  // Not the hold route: not taken.
  req.target = "/v1/versions/v1";
  CHECK_FALSE(StartHold(api.ctx(), req, [](HttpResponse) {}));
  // The right token: held until the bound (v1 still has worker-1's PENDING rows).
  req.target = "/v1/hold?version=v1&executor=worker-1&timeout=1";
  req.authorization = "Bearer right";
  std::promise<HttpResponse> q;
  CHECK(StartHold(api.ctx(), req, [&q](HttpResponse r) { q.set_value(std::move(r)); }));
  auto held = q.get_future();
  REQUIRE(held.wait_for(5s) == std::future_status::ready);
  CHECK(held.get().status == 409);
}
