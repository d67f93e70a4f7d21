// The front listener's per-connection rules (lib/core/connection_policy.h): phases, deadlines,
// and which connection gives way at the cap.
#include <catch2/catch.hpp>

#include "connection_policy.h"

using namespace dbos_drain;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {
const Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
const ConnectionTimeouts kTimeouts{milliseconds(10'000), milliseconds(75'000), milliseconds(1'000)};

Clock::time_point At(int ms) { return t0 + milliseconds(ms); }
}  // namespace

TEST_CASE("a new connection must send its whole request within the header timeout of its start", "[connection]") {
  auto s = NewConnection(t0);
  CHECK(s.phase == ConnectionPhase::kAwaitingHead);
  auto d = DeadlineOf(s, kTimeouts);
  REQUIRE(d);
  CHECK(d->at == At(10'000));
  CHECK(std::string(d->reason) == "request_timeout");
}

TEST_CASE("bytes that trickle in do not extend the deadline, in the head (slow loris)", "[connection]") {
  auto s = NewConnection(t0);
  s = OnClientBytes(s, At(1000));
  s = OnClientBytes(s, At(9000));
  CHECK(s.phase == ConnectionPhase::kAwaitingHead);
  CHECK(DeadlineOf(s, kTimeouts)->at == At(10'000));
  CHECK(s.last_activity == At(9000));
}

TEST_CASE("nor in the body: the head and the body share one absolute deadline", "[connection]") {
  auto s = OnClientBytes(NewConnection(t0), At(100));
  s = OnHeadComplete(s, /*body_follows=*/true, At(200));
  CHECK(s.phase == ConnectionPhase::kReadingBody);
  for (int ms = 1200; ms < 30'000; ms += 1000) s = OnClientBytes(s, At(ms));  // one byte a second
  CHECK(s.phase == ConnectionPhase::kReadingBody);
  CHECK(DeadlineOf(s, kTimeouts)->at == At(10'000));
  CHECK(std::string(DeadlineOf(s, kTimeouts)->reason) == "request_timeout");
}

TEST_CASE("a request awaiting its answer has no deadline (long polls); the write has one; then idle", "[connection]") {
  auto s = OnHeadComplete(OnClientBytes(NewConnection(t0), At(1)), false, At(2));
  CHECK(s.phase == ConnectionPhase::kAwaitingHead);  // no body: the request is whole at once
  s = OnRequestComplete(s, At(3));
  CHECK(s.phase == ConnectionPhase::kAwaitingAnswer);
  CHECK_FALSE(DeadlineOf(s, kTimeouts).has_value());
  s = OnClientBytes(s, At(60'000));  // the next request, pipelined, while a long poll waits
  CHECK(s.phase == ConnectionPhase::kAwaitingAnswer);
  CHECK_FALSE(DeadlineOf(s, kTimeouts).has_value());
  s = OnAnswerStarted(s, At(300'000));  // five minutes later
  CHECK(s.phase == ConnectionPhase::kWritingAnswer);
  CHECK(DeadlineOf(s, kTimeouts)->at == At(375'000));
  CHECK(std::string(DeadlineOf(s, kTimeouts)->reason) == "write_timeout");
  s = OnAnswerWritten(s, false, At(300'010));
  CHECK(s.phase == ConnectionPhase::kIdle);
  CHECK(DeadlineOf(s, kTimeouts)->at == At(375'010));
  CHECK(std::string(DeadlineOf(s, kTimeouts)->reason) == "idle_timeout");
}

TEST_CASE("the next request on a keep-alive connection gets its own deadline", "[connection]") {
  auto s = OnRequestComplete(NewConnection(t0), At(1));
  s = OnAnswerWritten(OnAnswerStarted(s, At(5)), false, At(10));
  s = OnClientBytes(s, At(60'000));
  CHECK(s.phase == ConnectionPhase::kAwaitingHead);
  CHECK(DeadlineOf(s, kTimeouts)->at == At(70'000));
  // A pipelined request already buffered when the answer is written starts at once.
  auto p = OnAnswerWritten(OnAnswerStarted(OnRequestComplete(NewConnection(t0), At(1)), At(2)), true, At(3));
  CHECK(p.phase == ConnectionPhase::kAwaitingHead);
  CHECK(DeadlineOf(p, kTimeouts)->at == At(10'003));
}

TEST_CASE("at the cap a stalled head or body gives way first, the oldest of them", "[connection]") {
  std::vector<ConnectionState> open;
  open.push_back(OnRequestComplete(NewConnection(t0), At(0)));                  // awaiting its answer
  open.push_back(OnAnswerWritten(OnAnswerStarted(open[0], At(1)), false, At(2)));  // idle since 2 ms
  open.push_back(OnHeadComplete(OnClientBytes(NewConnection(At(10)), At(5000)), true, At(5000)));  // body since 10 ms, trickling
  open.push_back(OnClientBytes(NewConnection(At(20)), At(5000)));               // head since 20 ms, trickling
  open.push_back(NewConnection(At(5400)));                                      // just connected
  // At 5.5 s: the body started at 10 ms is the oldest stalled one, though it sent a byte recently.
  CHECK(PickConnectionToClose(open, At(5500), kTimeouts) == std::optional<std::size_t>(2));
  open.erase(open.begin() + 2);
  CHECK(PickConnectionToClose(open, At(5500), kTimeouts) == std::optional<std::size_t>(2));
  open.erase(open.begin() + 2);
  // No stalled one left: the idle one, before the one that connected 100 ms ago.
  CHECK(PickConnectionToClose(open, At(5500), kTimeouts) == std::optional<std::size_t>(1));
  open.erase(open.begin() + 1);
  CHECK(PickConnectionToClose(open, At(5500), kTimeouts) == std::optional<std::size_t>(1));
}

TEST_CASE("at the cap the quietest idle connection gives way before a young request", "[connection]") {
  std::vector<ConnectionState> open;
  open.push_back(NewConnection(At(5)));
  open.push_back(OnAnswerWritten(OnRequestComplete(NewConnection(t0), At(1)), false, At(3)));
  open.push_back(OnAnswerWritten(OnRequestComplete(NewConnection(t0), At(1)), false, At(2)));
  CHECK(PickConnectionToClose(open, At(100), kTimeouts) == std::optional<std::size_t>(2));
  // A stalled answer write (a client that does not read) goes before an idle one.
  open.push_back(OnAnswerStarted(OnRequestComplete(NewConnection(t0), At(1)), At(50)));
  CHECK(PickConnectionToClose(open, At(2000), kTimeouts) == std::optional<std::size_t>(0));  // the head since 5 ms
  open.erase(open.begin());
  CHECK(PickConnectionToClose(open, At(2000), kTimeouts) == std::optional<std::size_t>(2));
}

TEST_CASE("at the cap a request awaiting its answer is never cut: the newcomer is refused", "[connection]") {
  std::vector<ConnectionState> open(3, OnRequestComplete(NewConnection(t0), t0));
  CHECK_FALSE(PickConnectionToClose(open, At(600'000), kTimeouts).has_value());
  CHECK_FALSE(PickConnectionToClose({}, t0, kTimeouts).has_value());
}

TEST_CASE("at the cap a long poll gives way last, the one waiting longest first", "[connection]") {
  // Two ordinary requests awaiting their answers, two long polls (pod holds) since 0 and 10 ms.
  std::vector<ConnectionState> open{OnRequestComplete(NewConnection(t0), t0),
                                    OnLongPoll(OnRequestComplete(NewConnection(t0), At(10))),
                                    OnLongPoll(OnRequestComplete(NewConnection(t0), t0)),
                                    OnRequestComplete(NewConnection(t0), At(5))};
  CHECK(PickConnectionToClose(open, At(600'000), kTimeouts) == std::optional<std::size_t>(2));
  // Any other kind of connection goes before a long poll, even a request just started.
  open.push_back(NewConnection(At(599'999)));
  CHECK(PickConnectionToClose(open, At(600'000), kTimeouts) == std::optional<std::size_t>(4));
  open.pop_back();
  open.erase(open.begin() + 2);
  CHECK(PickConnectionToClose(open, At(600'000), kTimeouts) == std::optional<std::size_t>(1));
  open.erase(open.begin() + 1);
  CHECK_FALSE(PickConnectionToClose(open, At(600'000), kTimeouts).has_value());
}

TEST_CASE("a long poll is a property of one request: its answer ends it", "[connection]") {
  ConnectionState s = OnLongPoll(OnRequestComplete(NewConnection(t0), t0));
  CHECK(s.long_poll);
  CHECK_FALSE(DeadlineOf(s, kTimeouts).has_value());
  s = OnAnswerWritten(OnAnswerStarted(s, At(1)), false, At(2));
  CHECK_FALSE(s.long_poll);
  s = OnRequestComplete(OnClientBytes(s, At(3)), At(4));
  CHECK_FALSE(s.long_poll);
  // Only a request awaiting its answer can be one.
  CHECK_FALSE(OnLongPoll(NewConnection(t0)).long_poll);
}

TEST_CASE("phase names", "[connection]") {
  CHECK(std::string(ConnectionPhaseName(ConnectionPhase::kAwaitingHead)) == "awaiting_head");
  CHECK(std::string(ConnectionPhaseName(ConnectionPhase::kReadingBody)) == "reading_body");
  CHECK(std::string(ConnectionPhaseName(ConnectionPhase::kAwaitingAnswer)) == "awaiting_answer");
  CHECK(std::string(ConnectionPhaseName(ConnectionPhase::kWritingAnswer)) == "writing_answer");
  CHECK(std::string(ConnectionPhaseName(ConnectionPhase::kIdle)) == "idle");
}
