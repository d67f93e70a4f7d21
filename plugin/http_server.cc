#include "http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cpprest/http_listener.h>

#include "front_listener.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace dbos_drain {

using web::http::http_request;
using web::http::experimental::listener::http_listener;
using web::http::experimental::listener::http_listener_config;

namespace {

// TLS 1.2 or newer, the certificate chain and the key, which must match.
void ConfigureTls(boost::asio::ssl::context& ctx, const TlsFiles& files) {
  for (const std::string* path : {&files.cert_file, &files.key_file}) {
    std::ifstream in(*path);
    if (!in) throw std::runtime_error("cannot read " + *path + ": " + std::strerror(errno));
  }
  ctx.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                  boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                  boost::asio::ssl::context::no_tlsv1_1);
  ctx.use_certificate_chain_file(files.cert_file);
  ctx.use_private_key_file(files.key_file, boost::asio::ssl::context::pem);
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    throw std::runtime_error("the private key does not match the certificate");
  }
}

// Counts requests from the moment dbos-drain gets them until their answer is written.
class InFlight {
 public:
  void Begin() {
    std::lock_guard<std::mutex> lock(mu_);
    ++n_;
  }
  void End() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --n_;
    }
    cv_.notify_all();
  }
  bool WaitIdle(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return n_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
};

// Sends `response`; `in_flight` (when set) is told once the answer is written or has failed.
void Reply(http_request& request, const HttpResponse& response, bool close = false,
           std::shared_ptr<InFlight> in_flight = nullptr) {
  web::http::http_response out(static_cast<web::http::status_code>(response.status));
  for (const auto& [name, value] : response.headers) out.headers().add(name, value);
  // After an oversized or unreadable body, do not keep the connection for another request.
  if (close) out.headers().add("Connection", "close");
  out.set_body(response.body, response.content_type);
  try {
    request.reply(out).then([in_flight](pplx::task<void> t) {
      try {
        t.get();
      } catch (...) {
        // The client went away; nothing to do.
      }
      if (in_flight) in_flight->End();
    });
  } catch (const std::exception&) {
    // Already answered: the listener closed the connection while the request waited.
    if (in_flight) in_flight->End();
  }
}



// Reads a request body a chunk at a time: keeps at most kMaxBodyBytes and drops the rest, so
// memory stays bounded whatever a client sends. Each pending read holds the reader alive.
class BodyReader : public std::enable_shared_from_this<BodyReader> {
 public:
  // `done(body, too_large, failed)` is called once: at the end of the body, as soon as it passes
  // kMaxBodyBytes (the rest is then read and dropped), or on a read error. Null: drop everything.
  using Done = std::function<void(std::string, bool, bool)>;

  static void Start(concurrency::streams::istream body, Done done) {
    auto reader = std::make_shared<BodyReader>();
    reader->in_ = std::move(body);
    reader->done_ = std::move(done);
    reader->Next();
  }

 private:
  void Next() {
    auto self = shared_from_this();
    in_.streambuf().getn(buf_.data(), buf_.size()).then([self](pplx::task<size_t> t) { self->OnRead(std::move(t)); });
  }

  void OnRead(pplx::task<size_t> t) {
    size_t n = 0;
    bool failed = false;
    try {
      n = t.get();
    } catch (...) {
      failed = true;  // the connection broke: nothing more will come
    }
    if (failed || n == 0) {
      Finish(failed ? std::string() : std::move(data_), false, failed);
      return;
    }
    if (done_) {
      if (data_.size() + n > kMaxBodyBytes) {
        std::string().swap(data_);
        Finish(std::string(), true, false);
      } else {
        data_.append(reinterpret_cast<const char*>(buf_.data()), n);
      }
    }
    Next();
  }

  void Finish(std::string body, bool too_large, bool failed) {
    if (!done_) return;
    Done done = std::move(done_);
    done_ = nullptr;
    done(std::move(body), too_large, failed);
  }

  concurrency::streams::istream in_;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(16 * 1024);
  std::string data_;
  Done done_;
};

void DiscardBody(concurrency::streams::istream body) { BodyReader::Start(std::move(body), nullptr); }

void ReadBody(concurrency::streams::istream body, BodyReader::Done done) {
  BodyReader::Start(std::move(body), std::move(done));
}

}  // namespace

struct HttpServer::Impl {
  std::unique_ptr<http_listener> listener;
  std::function<void(http_request)> handle;
  std::unique_ptr<FrontListener> front;
  FrontListener::Options front_options;
  Handler handler;
  Inline serve_inline;
  Defer defer;  // issue 24: the hold's long poll
  // Threads for requests that may wait for a database read.
  std::unique_ptr<boost::asio::thread_pool> pool;
  std::shared_ptr<InFlight> in_flight = std::make_shared<InFlight>();
  std::atomic<bool> shutting_down{false};
  Logger& log;
  explicit Impl(Logger& l) : log(l) {}

  // Answers `req` on the calling thread when that cannot wait on the database, else on the pool.
  // The request was counted in `in_flight` when it arrived; Reply() counts it out.
  void Answer(http_request request, HttpRequest req, bool close = false) {
    if (serve_inline && serve_inline(req)) {
      ReportCache::NoWaitScope no_wait;  // an I/O thread: never wait on a read (report_cache.h)
      Reply(request, handler(req), close || shutting_down, in_flight);
      return;
    }
    boost::asio::post(*pool, [this, request, req = std::move(req), close]() mutable {
      try {
        Reply(request, handler(req), close || shutting_down, in_flight);
      } catch (...) {
        // The handler never throws and Reply catches what cpprest throws; an exception escaping
        // a job would end the process (Asio rethrows it from the pool's thread).
      }
    });
  }
};

HttpServer::HttpServer(const std::string& listen, std::optional<TlsFiles> tls, Handler handler, Logger& log,
                       Inline serve_inline, unsigned workers, ConnectionLimits limits)
    : impl_(std::make_unique<Impl>(log)) {
  impl_->handler = std::move(handler);
  impl_->serve_inline = std::move(serve_inline);
  web::uri uri;
  try {
    uri = web::uri(listen);
  } catch (const std::exception&) {
    throw DrainError(ErrorCode::kConfig, "invalid --listen \"" + listen + "\": expected http://HOST:PORT or https://HOST:PORT");
  }
  const std::string scheme = uri.scheme();
  if ((scheme != "http" && scheme != "https") || uri.host().empty() || (uri.path() != "/" && !uri.path().empty())) {
    throw DrainError(ErrorCode::kConfig, "invalid --listen \"" + listen + "\": expected http://HOST:PORT or https://HOST:PORT");
  }
  if (uri.port() <= 0 || uri.port() > 65535) {
    throw DrainError(ErrorCode::kConfig, "invalid --listen \"" + listen + "\": a port 1..65535 is required");
  }
  if ((scheme == "https") != tls.has_value()) {
    throw DrainError(ErrorCode::kConfig, scheme == "https"
                                             ? "--listen https://... needs --tls-cert-file and --tls-key-file"
                                             : "--tls-cert-file/--tls-key-file need --listen https://HOST:PORT");
  }
  auto& front_options = impl_->front_options;
  impl_->front_options.host = uri.host();
  impl_->front_options.port = static_cast<uint16_t>(uri.port());
  impl_->front_options.timeouts = limits.timeouts;
  impl_->front_options.max_connections = std::max<std::size_t>(1, limits.max_connections);
  if (tls) {
    // The front listener configures a fresh context for each new connection, so a renewed
    // certificate is picked up without a restart. Load the files once now too: a wrong path, a
    // bad PEM or a key that does not match the certificate must stop the start, not silently
    // drop every connection later.
    try {
      boost::asio::ssl::context check(boost::asio::ssl::context::sslv23_server);
      ConfigureTls(check, *tls);
    } catch (const std::exception& e) {
      throw DrainError(ErrorCode::kConfig, "cannot use --tls-cert-file " + tls->cert_file + " and --tls-key-file " +
                                               tls->key_file + ": " + e.what());
    }
    auto files = *tls;
    impl_->front_options.configure_tls = [files](boost::asio::ssl::context& ctx) { ConfigureTls(ctx, files); };
  }
  Impl* impl = impl_.get();
  auto handle = [impl](http_request request) {
    impl->in_flight->Begin();
    HttpRequest req;
    req.method = request.method();
    // The raw target as received, still percent-encoded: routing decodes each segment itself.
    req.target = request.request_uri().to_string();
    const auto& headers = request.headers();
    auto ct = headers.find("Content-Type");
    if (ct != headers.end()) req.content_type = ct->second;
    auto auth = headers.find("Authorization");
    if (auth != headers.end()) req.authorization = auth->second;
    const bool has_body = headers.content_length() > 0 || headers.has("Transfer-Encoding");
    const bool wants_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if (!has_body) {
      impl->Answer(request, std::move(req));
      return;
    }
    if (!wants_body || headers.content_length() > kMaxBodyBytes) {
      // cpprest buffers a request body in memory until someone reads it, and sends the response
      // only once the whole body has arrived: read and drop what is not needed.
      req.body_too_large = wants_body;
      DiscardBody(request.body());
      const bool close = req.body_too_large;
      impl->Answer(request, std::move(req), close);
      return;
    }
    // A body of unknown length (chunked) or within the limit: read at most kMaxBodyBytes + 1.
    ReadBody(request.body(), [impl, request, req](std::string body, bool too_large, bool failed) mutable {
      if (failed) {
        Reply(request, ErrorResponse(400, "bad_request", "could not read the request body"), true, impl->in_flight);
        return;
      }
      req.body = std::move(body);
      req.body_too_large = too_large;
      impl->Answer(request, std::move(req), too_large);
    });
  };
  impl_->handle = handle;
  impl_->pool = std::make_unique<boost::asio::thread_pool>(std::max(1u, workers));
  // The front listener answers the pollers' routes itself (front_answer.h): the verdicts, the
  // queue route and the probes, small and cheap to encode, from memory on its thread when the
  // API answers them without waiting, else on the worker pool like cpprest's requests. /metrics
  // (large, scraped every 15-60 s), the patch routes, Flagger's POST and every request the front
  // does not parse as a plain GET still go through cpprest.
  using Offer = FrontListener::Options::Offer;
  front_options.answer = [impl](const HttpRequest& req, FrontListener::Options::Later later) -> Offer {
    // Issue 24, the pod hold: registered with the hold board, answered later from its thread.
    // (The prefix check keeps the pollers' hot path free of the allocation below.)
    if (impl->defer && req.target.compare(0, 8, "/v1/hold") == 0) {
      auto shared = std::make_shared<FrontListener::Options::Later>(std::move(later));
      if (impl->defer(req, [impl, shared](HttpResponse r) { (*shared)({std::move(r), impl->shutting_down}); })) {
        return Offer{Offer::Kind::kLater, {}};
      }
      later = std::move(*shared);
    }
    switch (RouteRequest(req.method, req.target).kind) {
      case RouteKind::kHealthz:
      case RouteKind::kReadyz:
      case RouteKind::kVersions:
      case RouteKind::kVersion:
      case RouteKind::kQueue:
        break;
      default:
        return Offer{};
    }
    if (impl->serve_inline && impl->serve_inline(req)) {
      // The listener's one thread must never wait on a read, even if the report turns stale
      // between serve_inline's look and the handler's (report_cache.h).
      ReportCache::NoWaitScope no_wait;
      return Offer{Offer::Kind::kNow, {impl->handler(req), impl->shutting_down}};
    }
    impl->in_flight->Begin();
    boost::asio::post(*impl->pool, [impl, req, later = std::move(later)] {
      try {
        later({impl->handler(req), impl->shutting_down});
      } catch (...) {
        // The handler never throws; an exception escaping a job would end the process.
      }
      impl->in_flight->End();
    });
    return Offer{Offer::Kind::kLater, {}};
  };
}

HttpServer::~HttpServer() = default;

namespace {
// A loopback port free right now (the kernel's pick for port 0); cpprest cannot report the port
// it bound, so it is given one.
uint16_t FreeLoopbackPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::address_v4::loopback(), 0});
  return probe.local_endpoint().port();
}
}  // namespace

void HttpServer::Open() {
  // cpprest on an internal loopback port (plain HTTP: TLS ends in the front listener). Another
  // process may take the port between the probe and the bind: then try another one.
  std::string last_error;
  for (int attempt = 0; attempt < 5 && !impl_->listener; ++attempt) {
    try {
      const uint16_t port = FreeLoopbackPort();
      http_listener_config config;
      config.set_timeout(std::chrono::seconds(30));
      auto listener = std::make_unique<http_listener>(web::uri("http://127.0.0.1:" + std::to_string(port)), config);
      listener->support(impl_->handle);
      // cpprest answers OPTIONS (200, empty Allow) and TRACE (echoing the request, Authorization
      // header included) by itself unless a handler is registered for them: route them like any
      // other method, to 405 with the right Allow.
      listener->support(web::http::methods::OPTIONS, impl_->handle);
      listener->support(web::http::methods::TRCE, impl_->handle);
      listener->open().wait();
      impl_->listener = std::move(listener);
      impl_->front_options.backend_port = port;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
  }
  if (!impl_->listener) throw DrainError(ErrorCode::kConfig, "cannot listen on an internal loopback port: " + last_error);
  impl_->front = std::make_unique<FrontListener>(impl_->front_options, impl_->log);
  try {
    impl_->front->Open();
  } catch (const std::exception& e) {
    throw DrainError(ErrorCode::kConfig, std::string("cannot listen: ") + e.what());
  }
}

void HttpServer::SetDefer(Defer defer) { impl_->defer = std::move(defer); }

void HttpServer::BeginShutdown() { impl_->shutting_down = true; }

bool HttpServer::WaitIdle(std::chrono::milliseconds timeout) { return impl_->in_flight->WaitIdle(timeout); }

void HttpServer::Close() {
  if (impl_->listener) {
    // cpprest first: it closes its connections, and the front listener passes on every answer
    // cpprest wrote before closing the client's side (closing the front first could cut one).
    try {
      impl_->listener->close().wait();
    } catch (const std::exception& e) {
      impl_->log.Warn("error while closing the listener", {{"error", e.what()}});
    }
  }
  if (impl_->front) impl_->front->Close(std::chrono::milliseconds(500));
  impl_->pool->join();  // requests still waiting on the database finish (at most the wait timeout)
}

}  // namespace dbos_drain
