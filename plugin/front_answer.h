// The requests `serve`'s front listener (front_listener.h) answers itself instead of forwarding
// them to cpprest: the pollers' hot path (Argo Rollouts, KEDA, probes asking for a verdict the
// fresh report already holds). Forwarding costs a second loopback hop and cpprest's request
// machinery, about half the CPU of such a request (bench/run.sh, README "Performance").
// Pure: bytes in, a parsed request or "forward" out; a response in, its bytes out. Parsing is
// Boost.Beast's; nothing here touches a socket.
//
// Contract:
//  - ParseFrontHead looks at the bytes buffered on a connection (the next request first). It
//    returns kRequest only for a request cpprest would read exactly the same way: HTTP/1.1, GET,
//    an origin-form target ("/...") that cpprest's URI parser accepts, no body (no
//    Transfer-Encoding, no Content-Length but 0), no Expect or Upgrade, at most one
//    Authorization and one Content-Type field, a head within kMaxFrontHead bytes. Anything
//    else, malformed bytes included, is kForward: cpprest answers it, so every behaviour pinned
//    for hostile input stays cpprest's. kNeedMore: the head is not complete yet.
//  - Whether the API may answer the request without waiting on the database is not decided
//    here (serve/answer_inline.h; plugin/http_server.cc asks it).
//  - FormatFrontResponse writes what cpprest writes for the same HttpResponse: the status line,
//    the handler's headers, Content-Length, Content-Type, the body, and "Connection: close"
//    when the connection ends after it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "api.h"

namespace dbos_drain {

inline constexpr std::size_t kMaxFrontHead = 8 * 1024;

struct FrontHead {
  enum class Kind { kNeedMore, kForward, kRequest };
  Kind kind = Kind::kNeedMore;
  HttpRequest request;       // for kRequest
  std::size_t consumed = 0;  // for kRequest: the request's bytes at the front of the buffer
  bool keep_alive = true;    // for kRequest: false when the client sent Connection: close
};

FrontHead ParseFrontHead(std::string_view buffered);

std::string FormatFrontResponse(const HttpResponse& response, bool close);

}  // namespace dbos_drain
