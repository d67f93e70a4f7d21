// How `serve`'s front listener (front_listener.h) reads requests from a client connection and
// writes its answers. Every request, on every route, is read here: no other parser sees a byte
// from the network. Parsing is Boost.Beast's request_parser; nothing here touches a socket, so
// it is unit-tested (test/unit/front_answer_test.cc) and fuzzed (fuzz/front_fuzzer.cc).
//
// Contract of RequestReader (one per connection; Reset() between requests):
//  - Put() takes the bytes buffered on the connection that no earlier step consumed, and says how
//    many it consumed (drop them) and what it found: kNeedMore, kRequest (the whole request) or
//    kReject (an answer to write before closing the connection).
//  - The head (request line and fields) is at most kMaxFrontHead bytes: longer is a 431. A body
//    is at most kMaxBodyBytes (lib/serve/api.h): a larger Content-Length is a 413 at once, before
//    any body byte is read; a chunked body is a 413 as soon as a chunk size would pass the limit
//    (a size like 7ffffff0 is refused from its header: no chunk is ever held whole). A chunk
//    size that is not hex or overflows 64 bits (-1, 10000000000000000) is a 400. The body is
//    kept as it arrives, never past the limit; bytes waiting for a line end are bounded too.
//  - A GET or HEAD with a body (Content-Length above 0, or Transfer-Encoding) is a 400.
//  - Malformed heads (not HTTP/1.0 or 1.1, a bad field, a target that is not origin-form "/..."
//    made of URI characters, two Authorization or Content-Type fields) are a 400. Every
//    reject has the documented JSON error shape (lib/serve ErrorResponse) and never echoes what
//    the client sent.
//  - head_done is set on the step that completes the head, with body_follows when body bytes
//    are still to come. "Expect: 100-continue" gets no interim answer: the client sends its body
//    after its own wait (curl: 1 s); Flagger and the other callers never send it.
//  - The target is handed over raw (still percent-encoded): routing decodes each segment.
//  - FormatFrontResponse writes the status line, the handler's fields, Content-Length,
//    Content-Type, the body, and "Connection: close" when the connection ends after it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "api.h"

namespace dbos_drain {

inline constexpr std::size_t kMaxFrontHead = 8 * 1024;

class RequestReader {
 public:
  struct Step {
    enum class Kind { kNeedMore, kRequest, kReject };
    Kind kind = Kind::kNeedMore;
    std::size_t consumed = 0;    // bytes of the input this step took
    bool head_done = false;      // this step completed the head
    bool body_follows = false;   // with head_done: body bytes are still to come
    HttpRequest request;         // kRequest
    bool keep_alive = true;      // kRequest: false for Connection: close (or HTTP/1.0 without keep-alive)
    HttpResponse reject;         // kReject
  };

  RequestReader();
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  Step Put(std::string_view bytes);
  // Ready for the next request on the connection.
  void Reset();
  // The current request's head is whole.
  bool head_done() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string FormatFrontResponse(const HttpResponse& response, bool close);

}  // namespace dbos_drain
