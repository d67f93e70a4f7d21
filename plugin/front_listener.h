// The public socket of `serve`: a Boost.Asio listener that accepts every client connection,
// terminates TLS, reads every request itself (front_answer.h: Beast's parser, with limits on the
// head, the body and chunk sizes), enforces the connection rules of lib/core/connection_policy.h
// (one absolute deadline for a request's head and body, the idle keep-alive timeout, a cap on
// open connections) and writes the answers `answer` gives.
//
// Why here and not in cpprest's http_listener (which served the API before issue 23): cpprest
// 2.10's listener has no header or body timeout and no connection limit, reads a chunk size as
// a signed int (a size of -1 ended the process), buffers a chunk whole before any limit sees it,
// leaves sockets in CLOSE-WAIT when a client cuts off its body, and its maintainers call it unfit
// for production. One parser that bounds everything, on one thread, is simpler to reason about.
//
// Contract:
//  - One thread runs every connection; it never waits on the database (answers that need a read
//    come back from the worker pool through `Later`). A connection costs one descriptor.
//  - Each request is offered to `answer` once it is whole. kNow: the answer is written at once
//    (it must be quick: it runs on the listener's thread). kLater: `later` is called exactly once
//    with the answer, from any thread, at any time (a database read; a long poll of minutes). An
//    answer for a connection that has closed meanwhile (client gone, deadline, shutdown) is
//    dropped. Until it is written, the next request on the connection is not parsed (pipelined
//    requests are answered in order); the connection is still read (up to 64 KiB ahead) so a
//    client that goes away is noticed and its descriptor released at once.
//  - Malformed or oversized requests get the reject answer of front_answer.h, then the
//    connection closes: after the answer, the sending side is shut and what the client still
//    sends is read and dropped for at most 1 s, so the client reads the answer instead of a reset
//    (likewise when bytes of a next request are buffered). Otherwise a connection that ends after
//    its answer (Connection: close, shutdown) is closed at once.
//  - A connection is closed at its policy deadline (checked every `sweep`).
//  - At `max_connections` a newcomer displaces the connection PickConnectionToClose names (a
//    stalled head, body or write first; a long poll last), or is closed at once when every
//    connection awaits an answer that is not a long poll (Offer::long_poll). Either way one warn line "connection limit reached" at most every 10 s, with how
//    many were closed or refused.
//  - TLS: the certificate and key files are read again for each connection (a renewed
//    certificate needs no restart); the handshake counts toward the request deadline.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api.h"
#include "connection_policy.h"
#include "logger.h"

namespace dbos_drain {

class FrontListener {
 public:
  struct Options {
    std::string host;        // as in --listen: a name or an address
    uint16_t port = 0;
    ConnectionTimeouts timeouts;
    std::size_t max_connections = 1024;
    // Set for https: configures a fresh TLS context per connection (throws when unusable).
    std::function<void(boost::asio::ssl::context&)> configure_tls;
    // Answers a whole request (required). kNow: `now` is the answer. kLater: `later` will be
    // called exactly once with the answer, from any thread.
    struct Answer {
      HttpResponse response;
      bool close = false;  // end the connection after it (serve is shutting down)
    };
    using Later = std::function<void(Answer)>;
    struct Offer {
      enum class Kind { kNow, kLater } kind = Kind::kNow;
      Answer now;
      // kLater only: a long poll whose client asks again (the pod hold). At the cap such a
      // connection may be closed to admit another (connection_policy.h); its answer is dropped.
      bool long_poll = false;
    };
    std::function<Offer(const HttpRequest&, Later later)> answer;
  };

  FrontListener(Options options, Logger& log);
  ~FrontListener();

  // Binds and starts accepting; throws std::runtime_error when the address cannot be bound.
  void Open();
  // Stops accepting; waits up to `drain` for requests in progress to have their answers
  // written; closes every connection; joins.
  void Close(std::chrono::milliseconds drain = std::chrono::milliseconds(0));
  // Open connections right now (for tests and logs).
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dbos_drain
