#include "front_answer.h"

#include "http_route.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cpprest/base_uri.h>

#include <sstream>

namespace dbos_drain {

namespace http = boost::beast::http;

namespace {

FrontHead Forward() {
  FrontHead h;
  h.kind = FrontHead::Kind::kForward;
  return h;
}

}  // namespace

FrontHead ParseFrontHead(std::string_view buffered) {
  http::request_parser<http::empty_body> parser;
  parser.header_limit(kMaxFrontHead);
  boost::beast::error_code ec;
  // A fresh parser over everything buffered: Beast consumes nothing until the head is whole.
  const std::size_t used = parser.put(boost::asio::buffer(buffered.data(), buffered.size()), ec);
  if (ec == http::error::need_more) {
    if (buffered.size() > kMaxFrontHead) return Forward();
    FrontHead h;
    h.kind = FrontHead::Kind::kNeedMore;
    return h;
  }
  if (ec || !parser.is_header_done()) return Forward();
  // A request with a body (or a body still to come) is cpprest's: it reads and bounds bodies.
  if (!parser.is_done() || parser.chunked()) return Forward();
  const auto& msg = parser.get();
  if (msg.version() != 11 || msg.method() != http::verb::get) return Forward();
  if (msg.count(http::field::transfer_encoding) || msg.count(http::field::expect) || msg.count(http::field::upgrade) ||
      msg.count(http::field::authorization) > 1 || msg.count(http::field::content_type) > 1 ||
      msg.count(http::field::content_length) > 1) {
    return Forward();
  }
  const std::string_view target(msg.target().data(), msg.target().size());
  if (target.empty() || target.front() != '/' || target.find('#') != std::string_view::npos ||
      !PercentDecode(std::string(target))) {  // cpprest answers a broken escape with its own 400
    return Forward();
  }
  FrontHead h;
  try {
    const std::string raw(target);
    if (!web::uri::validate(raw)) return Forward();
    // What cpprest hands the handler: its parsed request URI, as a string.
    h.request.target = web::uri(raw).to_string();
  } catch (const std::exception&) {
    return Forward();
  }
  h.kind = FrontHead::Kind::kRequest;
  h.request.method = "GET";
  if (auto it = msg.find(http::field::authorization); it != msg.end()) h.request.authorization = std::string(it->value());
  if (auto it = msg.find(http::field::content_type); it != msg.end()) h.request.content_type = std::string(it->value());
  h.consumed = used;
  h.keep_alive = msg.keep_alive();
  return h;
}

std::string FormatFrontResponse(const HttpResponse& response, bool close) {
  http::response<http::string_body> out;
  out.version(11);
  out.result(static_cast<unsigned>(response.status));
  for (const auto& [name, value] : response.headers) out.insert(name, value);
  out.set(http::field::content_length, std::to_string(response.body.size()));
  out.set(http::field::content_type, response.content_type);
  if (close) out.set(http::field::connection, "close");
  out.body() = response.body;
  std::ostringstream bytes;
  bytes << out;
  return bytes.str();
}

}  // namespace dbos_drain
