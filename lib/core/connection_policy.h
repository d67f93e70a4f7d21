// The rules for one client connection of `serve`'s front listener (plugin/front_listener.h):
// which phase it is in, when it must be closed, and which connection gives way when the cap on
// open connections is reached. Pure: events and times in, phase and deadline out; no sockets.
// The listener parses requests itself (plugin/front_answer.h) and reports what it saw.
//
// Contract:
//  - A connection starts in kAwaitingHead. The whole request, head and body, must arrive within
//    `header` of the connection's start (first request) or of the first byte of the next request
//    (keep-alive). The deadline is absolute: bytes that trickle in, in the head or in the body,
//    never extend it (slow loris, slow body). Bodies are at most 64 KiB (lib/serve/api.h), so a
//    real client sends one in milliseconds.
//  - kReadingBody: the head is whole, the body is still coming (same deadline as the head).
//  - kAwaitingAnswer: the request is whole and handed to the service. No deadline here: the
//    service bounds its own answers (a database wait: query timeout + 1 s; a long poll such as
//    the pod-level hold: its own bound, minutes at most), and every request gets exactly one
//    answer. The client may still close; the listener notices and drops the answer when it
//    comes. Such a connection is never "stalled" and never cut at the cap, unless the service
//    marked its request a long poll (OnLongPoll: the pod hold, whose callers ask again).
//  - kWritingAnswer: the answer is being written; the client must take it within `idle` of its
//    start.
//  - kIdle: between requests (keep-alive). Closed when no byte has moved for `idle`. The next
//    client byte starts a new request (kAwaitingHead).
//  - At the cap, the connection that gives way is, in this order: (1) a stalled one: in its head,
//    body or answer write for at least `stalled_after`, the one that entered that phase first;
//    (2) an idle one, the one quiet the longest; (3) one in its head, body or write for less than
//    `stalled_after`, the oldest; (4) a long poll awaiting its answer, the one waiting longest
//    (its client asks again, and a long poll must never fill the cap for everyone else). Any
//    other connection awaiting its answer is never picked; when every connection awaits one,
//    the newcomer is refused. So clients that trickle heads or bodies
//    cannot lock others out: each newcomer displaces the oldest of them.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace dbos_drain {

enum class ConnectionPhase { kAwaitingHead, kReadingBody, kAwaitingAnswer, kWritingAnswer, kIdle };

const char* ConnectionPhaseName(ConnectionPhase phase);

struct ConnectionTimeouts {
  std::chrono::milliseconds header{10000};        // the whole request: head and body (--header-timeout)
  std::chrono::milliseconds idle{75000};          // keep-alive between requests; an answer's write (--idle-timeout)
  std::chrono::milliseconds stalled_after{1000};  // in a head, body or write this long: first to go at the cap
};

struct ConnectionState {
  ConnectionPhase phase = ConnectionPhase::kAwaitingHead;
  std::chrono::steady_clock::time_point phase_since{};  // kAwaitingHead/kReadingBody: the request's start
  std::chrono::steady_clock::time_point last_activity{};
  bool long_poll = false;  // kAwaitingAnswer only: the service holds the answer; the client re-asks
};

// A new connection accepted at `now`.
ConnectionState NewConnection(std::chrono::steady_clock::time_point now);
// The client sent bytes at `now` (starts a new request when the connection was idle).
ConnectionState OnClientBytes(ConnectionState state, std::chrono::steady_clock::time_point now);
// The listener parsed the whole head; `body_follows`: body bytes are still to come.
ConnectionState OnHeadComplete(ConnectionState state, bool body_follows, std::chrono::steady_clock::time_point now);
// The request is whole and handed to the service.
ConnectionState OnRequestComplete(ConnectionState state, std::chrono::steady_clock::time_point now);
// The service marked the request being answered a long poll (it may give way at the cap).
ConnectionState OnLongPoll(ConnectionState state);
// The answer starts being written.
ConnectionState OnAnswerStarted(ConnectionState state, std::chrono::steady_clock::time_point now);
// The answer is written; `next_request_buffered`: bytes of the next request are already there.
ConnectionState OnAnswerWritten(ConnectionState state, bool next_request_buffered, std::chrono::steady_clock::time_point now);

// When the connection must be closed if nothing else happens, and why; none while it awaits
// its answer.
struct ConnectionDeadline {
  std::chrono::steady_clock::time_point at;
  const char* reason;  // "request_timeout", "write_timeout" or "idle_timeout"
};
std::optional<ConnectionDeadline> DeadlineOf(const ConnectionState& state, const ConnectionTimeouts& timeouts);

// Which of `open` gives way to a new connection at the cap at `now`: its index, or none (refuse
// the newcomer) when every open connection awaits an answer that is not a long poll.
std::optional<std::size_t> PickConnectionToClose(const std::vector<ConnectionState>& open,
                                                 std::chrono::steady_clock::time_point now,
                                                 const ConnectionTimeouts& timeouts);

}  // namespace dbos_drain
