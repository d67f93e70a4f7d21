// The rules for one client connection of `serve`'s front listener (plugin/front_listener.h):
// which phase it is in, when it must be closed, and which connection gives way when the cap on
// open connections is reached. Pure: bytes and times in, phase and deadline out; no sockets.
//
// Contract:
//  - A connection starts in kAwaitingHead. Its request head (request line and headers, up to
//    the blank line CRLF CRLF) must arrive whole within `header` of the connection's start (for
//    the first request) or of the first byte of the next request (keep-alive). Bytes that trickle
//    in do not extend it: that is the slow-loris defence.
//  - Once the head is whole: kInRequest until the service's answer starts. The service bounds its
//    own answer (query timeout + connect timeout + 1 s); a request stalls only when its body stops
//    coming, so here the deadline is `idle` + `answer` after the last byte moved either way.
//  - Once answer bytes flow: kIdle (a keep-alive connection between requests). It is closed when
//    no byte has moved for `idle`. The next client byte starts a new head (kAwaitingHead).
//  - At the cap, the connection that gives way is the one that has been quiet the longest among
//    those not in a request (kAwaitingHead or kIdle); a request being answered is never cut. When
//    every connection is in a request, the newcomer is refused.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace dbos_drain {

enum class ConnectionPhase { kAwaitingHead, kInRequest, kIdle };

const char* ConnectionPhaseName(ConnectionPhase phase);

struct ConnectionTimeouts {
  std::chrono::milliseconds header{10000};
  std::chrono::milliseconds idle{75000};
  std::chrono::milliseconds answer{11000};  // the longest the service may take to answer
};

struct ConnectionState {
  ConnectionPhase phase = ConnectionPhase::kAwaitingHead;
  int head_end_matched = 0;  // how much of "\r\n\r\n" the last bytes matched (0..3)
  std::chrono::steady_clock::time_point phase_since{};
  std::chrono::steady_clock::time_point last_activity{};
};

// A new connection accepted at `now`.
ConnectionState NewConnection(std::chrono::steady_clock::time_point now);
// The client sent `bytes` at `now`.
ConnectionState OnClientBytes(ConnectionState state, std::string_view bytes, std::chrono::steady_clock::time_point now);
// The service sent answer bytes at `now`.
ConnectionState OnServiceBytes(ConnectionState state, std::chrono::steady_clock::time_point now);

// When the connection must be closed if nothing else happens, and why.
struct ConnectionDeadline {
  std::chrono::steady_clock::time_point at;
  const char* reason;  // "header_timeout", "request_stalled" or "idle_timeout"
};
ConnectionDeadline DeadlineOf(const ConnectionState& state, const ConnectionTimeouts& timeouts);

// Which of `open` gives way to a new connection at the cap: its index, or none (refuse the
// newcomer) when every open connection is in a request.
std::optional<std::size_t> PickConnectionToClose(const std::vector<ConnectionState>& open);

}  // namespace dbos_drain
