#include "front_answer.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include <limits>
#include <optional>
#include <sstream>

namespace dbos_drain {

namespace http = boost::beast::http;

namespace {

// RFC 3986 characters of an origin-form target: unreserved, sub-delims, ":@/?" and "%".
bool IsTargetChar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',': case ';': case '=':
    case ':': case '@': case '/': case '?': case '%':
      return true;
    default:
      return false;
  }
}

bool IsOriginForm(std::string_view target) {
  if (target.empty() || target.front() != '/') return false;
  for (unsigned char c : target) {
    if (!IsTargetChar(c)) return false;
  }
  return true;
}

RequestReader::Step Reject(int status, const std::string& code, const std::string& message, std::size_t consumed) {
  RequestReader::Step s;
  s.kind = RequestReader::Step::Kind::kReject;
  s.consumed = consumed;
  s.reject = ErrorResponse(status, code, message);
  return s;
}

RequestReader::Step HeadTooLarge(std::size_t consumed) {
  return Reject(431, "header_too_large", "the request head is larger than 8 KiB", consumed);
}
RequestReader::Step BodyTooLarge(std::size_t consumed) {
  return Reject(413, "payload_too_large", "the request body is larger than 64 KiB", consumed);
}
RequestReader::Step Malformed(std::size_t consumed) {
  return Reject(400, "bad_request", "malformed HTTP request", consumed);
}

}  // namespace

struct RequestReader::Impl {
  std::optional<http::request_parser<http::string_body>> parser;
  bool head_checked = false;
  void Reset() {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(kMaxFrontHead));
    // No limit while the head is read: the head's checks come first (a GET with a body is a 400
    // whatever its size); the body limit is set once the head is whole. (Not boost::none: Beast
    // 1.74 compares a Content-Length with it and calls every body too large.)
    parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    parser->eager(false);
    head_checked = false;
  }
};

RequestReader::RequestReader() : impl_(std::make_unique<Impl>()) { impl_->Reset(); }
RequestReader::~RequestReader() = default;

void RequestReader::Reset() { impl_->Reset(); }

bool RequestReader::head_done() const { return impl_->parser->is_header_done(); }

RequestReader::Step RequestReader::Put(std::string_view bytes) {
  auto& p = *impl_->parser;
  Step step;
  std::size_t used = 0;
  while (!p.is_done()) {
    boost::beast::error_code ec;
    const std::size_t n = p.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == http::error::need_more) {
      // Bytes that wait for a line end (the head, a chunk size line) are bounded.
      if (bytes.size() - used > kMaxFrontHead) return p.is_header_done() ? Malformed(used) : HeadTooLarge(used);
      break;
    }
    if (ec == http::error::header_limit) return HeadTooLarge(used);
    if (ec == http::error::body_limit) return BodyTooLarge(used);
    if (ec) return Malformed(used);
    if (p.is_header_done() && !impl_->head_checked) {
      impl_->head_checked = true;
      step.head_done = true;
      const auto& msg = p.get();
      const bool has_body = p.chunked() || (p.content_length() && *p.content_length() > 0);
      const std::string_view target(msg.target().data(), msg.target().size());
      if (!IsOriginForm(target) || msg.count(http::field::authorization) > 1 ||
          msg.count(http::field::content_type) > 1) {
        return Malformed(used);
      }
      if (has_body && (msg.method() == http::verb::get || msg.method() == http::verb::head)) {
        return Reject(400, "bad_request", "a GET or HEAD request has no body", used);
      }
      if (p.content_length() && *p.content_length() > kMaxBodyBytes) return BodyTooLarge(used);
      p.body_limit(kMaxBodyBytes);
      p.eager(true);
      step.body_follows = !p.is_done();
      continue;
    }
    if (n == 0) break;
  }
  step.consumed = used;
  if (p.is_done()) {
    const auto& msg = p.get();
    step.kind = Step::Kind::kRequest;
    step.body_follows = false;
    step.request.method = std::string(msg.method_string());
    step.request.target = std::string(msg.target());
    if (auto it = msg.find(http::field::authorization); it != msg.end()) step.request.authorization = std::string(it->value());
    if (auto it = msg.find(http::field::content_type); it != msg.end()) step.request.content_type = std::string(it->value());
    step.request.body = msg.body();
    step.keep_alive = msg.keep_alive();
  }
  return step;
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
