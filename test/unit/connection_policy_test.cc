// The front listener's per-connection rules (lib/core/connection_policy.h): phases, deadlines,
// and which connection gives way at the cap.
#include <catch2/catch.hpp>

#include "connection_policy.h"

using namespace dbos_drain;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {
const Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
const ConnectionTimeouts kTimeouts{milliseconds(10'000), milliseconds(75'000), milliseconds(11'000)};
}  // namespace

TEST_CASE("a new connection must send its head within the header timeout of its start", "[connection]") {
  auto s = NewConnection(t0);
  CHECK(s.phase == ConnectionPhase::kAwaitingHead);
  auto d = DeadlineOf(s, kTimeouts);
  CHECK(d.at == t0 + milliseconds(10'000));
  CHECK(std::string(d.reason) == "header_timeout");
}

TEST_CASE("bytes that trickle in do not extend the header timeout (slow loris)", "[connection]") {
  auto s = NewConnection(t0);
  s = OnClientBytes(s, "GET /v1/versions HTTP/1.1\r\n", t0 + milliseconds(1000));
  s = OnClientBytes(s, "Host: x\r\n", t0 + milliseconds(9000));
  CHECK(s.phase == ConnectionPhase::kAwaitingHead);
  CHECK(DeadlineOf(s, kTimeouts).at == t0 + milliseconds(10'000));
}

TEST_CASE("the head is whole at CRLF CRLF, also split across reads", "[connection]") {
  auto s = NewConnection(t0);
  s = OnClientBytes(s, "GET / HTTP/1.1\r\nHost: x\r", t0);
  CHECK(s.phase == ConnectionPhase::kAwaitingHead);
  s = OnClientBytes(s, "\n\r", t0);
  CHECK(s.phase == ConnectionPhase::kAwaitingHead);
  s = OnClientBytes(s, "\n", t0 + milliseconds(5));
  CHECK(s.phase == ConnectionPhase::kInRequest);
  auto d = DeadlineOf(s, kTimeouts);
  CHECK(d.at == t0 + milliseconds(5) + milliseconds(75'000 + 11'000));
  CHECK(std::string(d.reason) == "request_stalled");
}

TEST_CASE("near misses of CRLF CRLF do not end the head", "[connection]") {
  auto s = NewConnection(t0);
  s = OnClientBytes(s, "GET / HTTP/1.1\r\n\rX\n\n\r\r\n", t0);
  CHECK(s.phase == ConnectionPhase::kAwaitingHead);
  s = OnClientBytes(s, "\r\n", t0);  // "\r\r\n" + "\r\n": the last four bytes are CRLF CRLF
  CHECK(s.phase == ConnectionPhase::kInRequest);
}

TEST_CASE("a body after the head keeps the request going; the answer makes it idle", "[connection]") {
  auto s = OnClientBytes(NewConnection(t0), "POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", t0);
  CHECK(s.phase == ConnectionPhase::kInRequest);
  s = OnClientBytes(s, "cd\r\n\r\n", t0 + milliseconds(100));  // body bytes never end a head
  CHECK(s.phase == ConnectionPhase::kInRequest);
  CHECK(DeadlineOf(s, kTimeouts).at == t0 + milliseconds(100 + 86'000));
  s = OnServiceBytes(s, t0 + milliseconds(200));
  CHECK(s.phase == ConnectionPhase::kIdle);
  auto d = DeadlineOf(s, kTimeouts);
  CHECK(d.at == t0 + milliseconds(200 + 75'000));
  CHECK(std::string(d.reason) == "idle_timeout");
  s = OnServiceBytes(s, t0 + milliseconds(300));  // more of the answer: still idle, later deadline
  CHECK(DeadlineOf(s, kTimeouts).at == t0 + milliseconds(300 + 75'000));
}

TEST_CASE("the next request on a keep-alive connection gets its own header timeout", "[connection]") {
  auto s = OnClientBytes(NewConnection(t0), "GET / HTTP/1.1\r\n\r\n", t0);
  s = OnServiceBytes(s, t0 + milliseconds(10));
  s = OnClientBytes(s, "GET /metr", t0 + milliseconds(60'000));
  CHECK(s.phase == ConnectionPhase::kAwaitingHead);
  CHECK(DeadlineOf(s, kTimeouts).at == t0 + milliseconds(70'000));
  s = OnClientBytes(s, "ics HTTP/1.1\r\n\r\n", t0 + milliseconds(60'001));
  CHECK(s.phase == ConnectionPhase::kInRequest);
}

TEST_CASE("empty reads change nothing", "[connection]") {
  auto s = NewConnection(t0);
  auto after = OnClientBytes(s, "", t0 + milliseconds(500));
  CHECK(after.last_activity == t0);
  CHECK(after.phase == ConnectionPhase::kAwaitingHead);
}

TEST_CASE("at the cap the quietest connection not in a request gives way", "[connection]") {
  std::vector<ConnectionState> open;
  open.push_back(OnClientBytes(NewConnection(t0), "GET / HTTP/1.1\r\n\r\n", t0));  // in a request, oldest
  open.push_back(NewConnection(t0 + milliseconds(5)));                               // silent since 5 ms
  open.push_back(OnServiceBytes(open[0], t0 + milliseconds(3)));                      // idle since 3 ms
  open.push_back(OnClientBytes(NewConnection(t0 + milliseconds(1)), "GE", t0 + milliseconds(7)));
  CHECK(PickConnectionToClose(open) == std::optional<std::size_t>(2));
  open.erase(open.begin() + 2);
  CHECK(PickConnectionToClose(open) == std::optional<std::size_t>(1));
}

TEST_CASE("at the cap a request being answered is never cut: the newcomer is refused", "[connection]") {
  std::vector<ConnectionState> open(3, OnClientBytes(NewConnection(t0), "GET / HTTP/1.1\r\n\r\n", t0));
  CHECK_FALSE(PickConnectionToClose(open).has_value());
  CHECK_FALSE(PickConnectionToClose({}).has_value());
}

TEST_CASE("phase names", "[connection]") {
  CHECK(std::string(ConnectionPhaseName(ConnectionPhase::kAwaitingHead)) == "awaiting_head");
  CHECK(std::string(ConnectionPhaseName(ConnectionPhase::kInRequest)) == "in_request");
  CHECK(std::string(ConnectionPhaseName(ConnectionPhase::kIdle)) == "idle");
}
