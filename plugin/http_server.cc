#include "http_server.h"

#include <boost/asio/ssl.hpp>
#include <cpprest/http_listener.h>

namespace dbos_drain {

using web::http::http_request;
using web::http::experimental::listener::http_listener;
using web::http::experimental::listener::http_listener_config;

struct HttpServer::Impl {
  std::unique_ptr<http_listener> listener;
  Handler handler;
  Logger& log;
  explicit Impl(Logger& l) : log(l) {}
};

namespace {

void Reply(http_request& request, const HttpResponse& response) {
  web::http::http_response out(static_cast<web::http::status_code>(response.status));
  for (const auto& [name, value] : response.headers) out.headers().add(name, value);
  out.set_body(response.body, response.content_type);
  request.reply(out).then([](pplx::task<void> t) {
    try {
      t.get();
    } catch (...) {
      // The client went away; nothing to do.
    }
  });
}

}  // namespace

HttpServer::HttpServer(const std::string& listen, std::optional<TlsFiles> tls, Handler handler, Logger& log)
    : impl_(std::make_unique<Impl>(log)) {
  impl_->handler = std::move(handler);
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
  http_listener_config config;
  config.set_timeout(std::chrono::seconds(30));
  if (tls) {
    auto files = *tls;
    config.set_ssl_context_callback([files](boost::asio::ssl::context& ctx) {
      ctx.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                      boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                      boost::asio::ssl::context::no_tlsv1_1);
      ctx.use_certificate_chain_file(files.cert_file);
      ctx.use_private_key_file(files.key_file, boost::asio::ssl::context::pem);
    });
  }
  impl_->listener = std::make_unique<http_listener>(uri, config);
  Impl* impl = impl_.get();
  auto handle = [impl](http_request request) {
    HttpRequest req;
    req.method = request.method();
    // The raw target as received, still percent-encoded: routing decodes each segment itself.
    req.target = request.request_uri().to_string();
    const auto& headers = request.headers();
    auto ct = headers.find("Content-Type");
    if (ct != headers.end()) req.content_type = ct->second;
    auto auth = headers.find("Authorization");
    if (auth != headers.end()) req.authorization = auth->second;
    const bool wants_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if (!wants_body) {
      Reply(request, impl->handler(req));
      return;
    }
    if (headers.content_length() > kMaxBodyBytes) {
      req.body_too_large = true;
      Reply(request, impl->handler(req));
      return;
    }
    request.extract_string(true).then([impl, request, req](pplx::task<std::string> body) mutable {
      try {
        req.body = body.get();
        if (req.body.size() > kMaxBodyBytes) {
          req.body.clear();
          req.body_too_large = true;
        }
      } catch (const std::exception&) {
        req.body.clear();
        req.body_too_large = false;
        Reply(request, ErrorResponse(400, "bad_request", "could not read the request body"));
        return;
      }
      Reply(request, impl->handler(req));
    });
  };
  impl_->listener->support(handle);
  // cpprest answers OPTIONS (200, empty Allow) and TRACE (echoing the request, Authorization
  // header included) by itself unless a handler is registered for them: route them like any
  // other method, to 405 with the right Allow.
  impl_->listener->support(web::http::methods::OPTIONS, handle);
  impl_->listener->support(web::http::methods::TRCE, handle);
}

HttpServer::~HttpServer() = default;

void HttpServer::Open() {
  try {
    impl_->listener->open().wait();
  } catch (const std::exception& e) {
    throw DrainError(ErrorCode::kConfig, std::string("cannot listen: ") + e.what());
  }
}

void HttpServer::Close() {
  try {
    impl_->listener->close().wait();
  } catch (const std::exception& e) {
    impl_->log.Warn("error while closing the listener", {{"error", e.what()}});
  }
}

}  // namespace dbos_drain
