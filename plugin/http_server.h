// The server of `serve`: the front listener (front_listener.h), which owns the public port, TLS,
// request parsing and the connection rules, wired to the library-free API of api.h, with a pool
// of worker threads for answers that may wait on the database. TLS: 1.2 or newer; for 1.2 only
// ECDHE suites with AES-GCM or ChaCha20-Poly1305 (docs/operations/security.md).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api.h"
#include "connection_policy.h"

namespace dbos_drain {

struct TlsFiles {
  std::string cert_file;
  std::string key_file;
};

// What the front listener enforces per client connection (connection_policy.h).
struct ConnectionLimits {
  ConnectionTimeouts timeouts;
  std::size_t max_connections = 1024;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // True when the handler answers `request` without waiting (e.g. from a fresh report): it then
  // runs on the listener's thread. Every other request runs on a pool of `workers` threads, so
  // requests that wait for a database read (up to query timeout + 1 s) never hold up the I/O
  // threads, /healthz or /readyz. Null: every request runs on the pool.
  using Inline = std::function<bool(const HttpRequest&)>;

  // `listen`: http://HOST:PORT or https://HOST:PORT (then `tls` is required).
  // Throws DrainError(kConfig) for a bad URL; Open() throws when the port cannot be bound.
  HttpServer(const std::string& listen, std::optional<TlsFiles> tls, Handler handler, Logger& log,
             Inline serve_inline = nullptr, unsigned workers = 64, ConnectionLimits limits = {});
  ~HttpServer();

  // Issue 24: a request the service answers later without a thread (the pod hold's long poll).
  // Returns false when it does not take `request`; else calls `done` exactly once, at once or
  // from another thread. Set before Open(). Used only for requests the front listener parses.
  using Defer = std::function<bool(const HttpRequest& request, std::function<void(HttpResponse)> done)>;
  void SetDefer(Defer defer);

  // Binds the public port; throws DrainError(kConfig) when it cannot.
  void Open();
  // From now on every answer says Connection: close, so clients open their next connection to
  // another replica (Kubernetes is taking this one out of the Service). Requests are still served.
  void BeginShutdown();
  // Waits until no request is being answered, at most `timeout`; true when idle.
  bool WaitIdle(std::chrono::milliseconds timeout);
  // Closes the listener and every connection (answers being written get 500 ms; requests still
  // waiting are cut: call WaitIdle first), then waits for the worker pool.
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dbos_drain
