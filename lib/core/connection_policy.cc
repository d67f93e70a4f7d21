#include "connection_policy.h"

namespace dbos_drain {

const char* ConnectionPhaseName(ConnectionPhase phase) {
  switch (phase) {
    case ConnectionPhase::kAwaitingHead:
      return "awaiting_head";
    case ConnectionPhase::kInRequest:
      return "in_request";
    case ConnectionPhase::kIdle:
      return "idle";
  }
  return "unknown";
}

ConnectionState NewConnection(std::chrono::steady_clock::time_point now) {
  ConnectionState s;
  s.phase_since = now;
  s.last_activity = now;
  return s;
}

ConnectionState OnClientBytes(ConnectionState s, std::string_view bytes, std::chrono::steady_clock::time_point now) {
  if (bytes.empty()) return s;
  s.last_activity = now;
  if (s.phase == ConnectionPhase::kIdle) {
    s.phase = ConnectionPhase::kAwaitingHead;  // the first byte of the next request
    s.phase_since = now;
    s.head_end_matched = 0;
  }
  if (s.phase != ConnectionPhase::kAwaitingHead) return s;  // a body: the head is already whole
  static constexpr char kEnd[] = "\r\n\r\n";
  for (char c : bytes) {
    if (c == kEnd[s.head_end_matched]) {
      if (++s.head_end_matched == 4) {
        s.phase = ConnectionPhase::kInRequest;
        s.phase_since = now;
        s.head_end_matched = 0;
        return s;  // what follows is the body
      }
    } else {
      s.head_end_matched = c == '\r' ? 1 : 0;
    }
  }
  return s;
}

ConnectionState OnServiceBytes(ConnectionState s, std::chrono::steady_clock::time_point now) {
  s.last_activity = now;
  if (s.phase != ConnectionPhase::kIdle) {
    s.phase = ConnectionPhase::kIdle;
    s.phase_since = now;
    s.head_end_matched = 0;
  }
  return s;
}

ConnectionDeadline DeadlineOf(const ConnectionState& s, const ConnectionTimeouts& t) {
  switch (s.phase) {
    case ConnectionPhase::kAwaitingHead:
      return {s.phase_since + t.header, "header_timeout"};
    case ConnectionPhase::kInRequest:
      return {s.last_activity + t.idle + t.answer, "request_stalled"};
    case ConnectionPhase::kIdle:
      break;
  }
  return {s.last_activity + t.idle, "idle_timeout"};
}

std::optional<std::size_t> PickConnectionToClose(const std::vector<ConnectionState>& open) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < open.size(); ++i) {
    if (open[i].phase == ConnectionPhase::kInRequest) continue;
    if (!best || open[i].last_activity < open[*best].last_activity) best = i;
  }
  return best;
}

}  // namespace dbos_drain
