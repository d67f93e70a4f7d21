#include "connection_policy.h"

namespace dbos_drain {

const char* ConnectionPhaseName(ConnectionPhase phase) {
  switch (phase) {
    case ConnectionPhase::kAwaitingHead:
      return "awaiting_head";
    case ConnectionPhase::kReadingBody:
      return "reading_body";
    case ConnectionPhase::kAwaitingAnswer:
      return "awaiting_answer";
    case ConnectionPhase::kWritingAnswer:
      return "writing_answer";
    case ConnectionPhase::kIdle:
      return "idle";
  }
  return "unknown";
}

namespace {
ConnectionState Enter(ConnectionState s, ConnectionPhase phase, std::chrono::steady_clock::time_point now) {
  s.phase = phase;
  s.long_poll = false;  // a property of one request's wait
  s.phase_since = now;
  s.last_activity = now;
  return s;
}
}  // namespace

ConnectionState NewConnection(std::chrono::steady_clock::time_point now) {
  return Enter(ConnectionState{}, ConnectionPhase::kAwaitingHead, now);
}

ConnectionState OnClientBytes(ConnectionState s, std::chrono::steady_clock::time_point now) {
  if (s.phase == ConnectionPhase::kIdle) return Enter(s, ConnectionPhase::kAwaitingHead, now);
  s.last_activity = now;  // never moves phase_since: the request's deadline is absolute
  return s;
}

ConnectionState OnHeadComplete(ConnectionState s, bool body_follows, std::chrono::steady_clock::time_point now) {
  s.last_activity = now;
  if (body_follows) s.phase = ConnectionPhase::kReadingBody;  // same start: same deadline
  return s;
}

ConnectionState OnRequestComplete(ConnectionState s, std::chrono::steady_clock::time_point now) {
  return Enter(s, ConnectionPhase::kAwaitingAnswer, now);
}

ConnectionState OnLongPoll(ConnectionState s) {
  if (s.phase == ConnectionPhase::kAwaitingAnswer) s.long_poll = true;
  return s;
}

ConnectionState OnAnswerStarted(ConnectionState s, std::chrono::steady_clock::time_point now) {
  return Enter(s, ConnectionPhase::kWritingAnswer, now);
}

ConnectionState OnAnswerWritten(ConnectionState s, bool next_request_buffered, std::chrono::steady_clock::time_point now) {
  return Enter(s, next_request_buffered ? ConnectionPhase::kAwaitingHead : ConnectionPhase::kIdle, now);
}

std::optional<ConnectionDeadline> DeadlineOf(const ConnectionState& s, const ConnectionTimeouts& t) {
  switch (s.phase) {
    case ConnectionPhase::kAwaitingHead:
    case ConnectionPhase::kReadingBody:
      return ConnectionDeadline{s.phase_since + t.header, "request_timeout"};
    case ConnectionPhase::kAwaitingAnswer:
      return std::nullopt;
    case ConnectionPhase::kWritingAnswer:
      return ConnectionDeadline{s.phase_since + t.idle, "write_timeout"};
    case ConnectionPhase::kIdle:
      break;
  }
  return ConnectionDeadline{s.last_activity + t.idle, "idle_timeout"};
}

std::optional<std::size_t> PickConnectionToClose(const std::vector<ConnectionState>& open,
                                                 std::chrono::steady_clock::time_point now,
                                                 const ConnectionTimeouts& timeouts) {
  // Rank: 0 stalled, 1 idle, 2 busy for less than stalled_after, 3 a long poll; then the older
  // goes first.
  auto rank = [&](const ConnectionState& s) {
    if (s.phase == ConnectionPhase::kAwaitingAnswer) return 3;  // only long polls get here
    if (s.phase == ConnectionPhase::kIdle) return 1;
    return now - s.phase_since >= timeouts.stalled_after ? 0 : 2;
  };
  auto since = [](const ConnectionState& s) { return s.phase == ConnectionPhase::kIdle ? s.last_activity : s.phase_since; };
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < open.size(); ++i) {
    if (open[i].phase == ConnectionPhase::kAwaitingAnswer && !open[i].long_poll) continue;
    if (!best) {
      best = i;
      continue;
    }
    const int a = rank(open[i]), b = rank(open[*best]);
    if (a < b || (a == b && since(open[i]) < since(open[*best]))) best = i;
  }
  return best;
}

}  // namespace dbos_drain
