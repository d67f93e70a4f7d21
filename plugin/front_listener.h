// The public socket of `serve`: a small Boost.Asio front listener that accepts every client
// connection, enforces the connection rules of lib/core/connection_policy.h (header timeout,
// idle keep-alive timeout, a cap on open connections) and terminates TLS, and forwards the bytes
// unchanged to cpprest's listener on an internal loopback port, except for the requests it may
// answer itself from memory (front_answer.h: the pollers' GETs of a fresh verdict).
//
// Why a front listener: cpprest 2.10's http_listener has no header timeout, no idle timeout and
// no connection limit, and owns its sockets (no hook to close one or to refuse an accept). This is
// what the ecosystem does in front of such servers (a reverse proxy such as nginx or Envoy with
// client_header_timeout / keepalive_timeout / worker_connections), done in-process with Asio so
// the image stays one binary. The bytes are not rewritten: cpprest still parses every request,
// so its behaviour (and every pinned hostile-input answer) is unchanged.
//
// Contract:
//  - One thread runs every connection; it never waits on the database (answers that need a read
//    come back from the worker pool). A connection costs one descriptor until it sends a request
//    the front forwards, and three (client, forward, cpprest's end) from then on (with `answer`
//    unset: from its first byte on).
//  - A connection is closed by the policy's deadline (checked every `sweep`); closing it closes
//    the forward socket, so cpprest's end goes too: descriptors return to their baseline.
//  - At `max_connections` the quietest connection not in a request is closed to admit the new
//    one, or the new one is closed at once when all are in a request. Either way one warn line
//    "connection limit reached" at most every 10 s, with how many were closed or refused.
//  - TLS: the certificate and key files are read again for each connection (a renewed
//    certificate needs no restart); the handshake counts toward the header timeout.
//  - The internal port listens on 127.0.0.1 only, plain HTTP; bearer auth still applies there.
//  - Answering here (Options::answer set): each request a connection sends is parsed
//    (front_answer.h) and offered to `answer`; when it answers (now or later), the response is
//    written here and only then is the next buffered request looked at, so pipelined requests
//    are answered in order. The first request it forwards, and every byte after it on that
//    connection, goes to cpprest: a connection never comes back, so answers cannot overtake
//    each other. (The pollers' routes are always answered here: see plugin/http_server.cc.)
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <optional>

#include "api.h"
#include "connection_policy.h"
#include "logger.h"

namespace dbos_drain {

class FrontListener {
 public:
  struct Options {
    std::string host;        // as in --listen: a name or an address
    uint16_t port = 0;
    uint16_t backend_port = 0;  // cpprest on 127.0.0.1
    ConnectionTimeouts timeouts;
    std::size_t max_connections = 1024;
    // Set for https: configures a fresh TLS context per connection (throws when unusable).
    std::function<void(boost::asio::ssl::context&)> configure_tls;
    // Offers a request to be answered here instead of by cpprest (front_answer.h). kForward:
    // cpprest answers it (and the rest of the connection). kNow: `now` is the answer (it must
    // be quick: it runs on the listener's thread). kLater: `later` will be called exactly once
    // with the answer, from another thread (e.g. after a database read). Null: forward all.
    struct Answer {
      HttpResponse response;
      bool close = false;  // end the connection after it (serve is shutting down)
    };
    using Later = std::function<void(Answer)>;
    struct Offer {
      enum class Kind { kForward, kNow, kLater } kind = Kind::kForward;
      Answer now;
    };
    std::function<Offer(const HttpRequest&, Later later)> answer;
  };

  FrontListener(Options options, Logger& log);
  ~FrontListener();

  // Binds and starts accepting; throws std::runtime_error when the address cannot be bound.
  void Open();
  // Stops accepting; waits up to `drain` for connections that forward from cpprest (closing its
  // listener first lets them pass on the answers it wrote) and for answers being written here;
  // closes every connection; joins.
  void Close(std::chrono::milliseconds drain = std::chrono::milliseconds(0));
  // Open connections right now (for tests and logs).
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dbos_drain
