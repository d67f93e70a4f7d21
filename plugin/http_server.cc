#include "http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cpprest/base_uri.h>

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

namespace {

// TLS 1.2 suites offered: forward secret (ECDHE) and AEAD (AES-GCM, ChaCha20-Poly1305) only,
// Mozilla's "intermediate" list without DHE (no DH parameters to manage). TLS 1.3 keeps
// OpenSSL's default suites, which are all of that kind.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// TLS 1.2 or newer with kTls12Ciphers, the certificate chain and the key, which must match.
void ConfigureTls(boost::asio::ssl::context& ctx, const TlsFiles& files) {
  for (const std::string* path : {&files.cert_file, &files.key_file}) {
    std::ifstream in(*path);
    if (!in) throw std::runtime_error("cannot read " + *path + ": " + std::strerror(errno));
  }
  ctx.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                  boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                  boost::asio::ssl::context::no_tlsv1_1 | boost::asio::ssl::context::no_compression);
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx.native_handle(), kTls12Ciphers) != 1) {
    throw std::runtime_error("OpenSSL refused the TLS 1.2 cipher list");
  }
  ctx.use_certificate_chain_file(files.cert_file);
  ctx.use_private_key_file(files.key_file, boost::asio::ssl::context::pem);
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    throw std::runtime_error("the private key does not match the certificate");
  }
}

// Counts requests handed to the worker pool until their answer is handed back to the listener.
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

}  // namespace

struct HttpServer::Impl {
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
  impl_->pool = std::make_unique<boost::asio::thread_pool>(std::max(1u, workers));
  // Every request, on every route, is read and answered by the front listener (front_listener.h):
  // from memory on its thread when the API answers without waiting (answer_inline.h), else on
  // the worker pool, whose answer comes back through `later`.
  using Offer = FrontListener::Options::Offer;
  front_options.answer = [impl](const HttpRequest& req, FrontListener::Options::Later later) -> Offer {
    // Issue 24, the pod hold: registered with the hold board, answered later from its thread.
    // (The prefix check keeps the pollers' hot path free of the allocation below.)
    if (impl->defer && req.target.compare(0, 8, "/v1/hold") == 0) {
      auto shared = std::make_shared<FrontListener::Options::Later>(std::move(later));
      if (impl->defer(req, [impl, shared](HttpResponse r) { (*shared)({std::move(r), impl->shutting_down}); })) {
        Offer offer{Offer::Kind::kLater, {}};
        offer.long_poll = true;  // the holder asks again: at the cap it gives way (connection_policy.h)
        return offer;
      }
      later = std::move(*shared);
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

void HttpServer::Open() {
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
  // Answers in progress are written first (for at most 500 ms), then every connection closes.
  if (impl_->front) impl_->front->Close(std::chrono::milliseconds(500));
  impl_->pool->join();  // requests still waiting on the database finish (at most the wait timeout)
}

}  // namespace dbos_drain
