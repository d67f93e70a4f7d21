// What serve's front listener answers itself and what it forwards to cpprest
// (plugin/front_answer.h), and the bytes of its answers.
#include <catch2/catch.hpp>

#include <string>

#include "front_answer.h"

using namespace dbos_drain;
using Kind = FrontHead::Kind;

namespace {
Kind KindOf(const std::string& bytes) { return ParseFrontHead(bytes).kind; }
}  // namespace

TEST_CASE("front: a poller's GET is parsed whole, with its headers", "[front]") {
  const std::string head =
      "GET /v1/versions/v%201?x=1 HTTP/1.1\r\nHost: drain\r\nAuthorization: Bearer s3cret\r\n"
      "Content-Type: text/plain\r\nAccept: */*\r\n\r\n";
  const FrontHead h = ParseFrontHead(head);
  REQUIRE(h.kind == Kind::kRequest);
  CHECK(h.request.method == "GET");
  CHECK(h.request.target == "/v1/versions/v%201?x=1");  // still encoded, as cpprest hands it over
  CHECK(h.request.authorization == "Bearer s3cret");
  CHECK(h.request.content_type == "text/plain");
  CHECK(h.request.body.empty());
  CHECK(h.consumed == head.size());
  CHECK(h.keep_alive);
}

TEST_CASE("front: an incomplete head waits for more, up to the head limit", "[front]") {
  CHECK(KindOf("") == Kind::kNeedMore);
  CHECK(KindOf("GET /healthz HTTP/1.1\r\nHost: x\r\n") == Kind::kNeedMore);
  CHECK(KindOf("GET /healthz HTT") == Kind::kNeedMore);
  // A head that does not end within kMaxFrontHead bytes is cpprest's to judge.
  const std::string big = "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(kMaxFrontHead, 'a');
  CHECK(KindOf(big) == Kind::kForward);
}

TEST_CASE("front: pipelined requests are taken one at a time, in order", "[front]") {
  const std::string first = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string second = "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const FrontHead a = ParseFrontHead(first + second);
  REQUIRE(a.kind == Kind::kRequest);
  CHECK(a.request.target == "/healthz");
  CHECK(a.consumed == first.size());
  const FrontHead b = ParseFrontHead(second);
  REQUIRE(b.kind == Kind::kRequest);
  CHECK(b.request.target == "/readyz");
  CHECK_FALSE(b.keep_alive);
}

TEST_CASE("front: Content-Length 0 is no body", "[front]") {
  CHECK(KindOf("GET /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == Kind::kRequest);
}

TEST_CASE("front: everything cpprest might read differently is forwarded", "[front]") {
  const char* forwarded[] = {
      "POST /v1/flagger/confirm-promotion HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
      "HEAD /healthz HTTP/1.1\r\n\r\n",
      "DELETE /healthz HTTP/1.1\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\n\r\n",
      "GET /healthz HTTP/1.0\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
      "GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\n",
      "GET http://drain/healthz HTTP/1.1\r\n\r\n",   // absolute form
      "GET /v1/versions/a#frag HTTP/1.1\r\n\r\n",
      "GET /v1/versions/%zz HTTP/1.1\r\n\r\n",       // cpprest answers its own empty 400
      "GET /v1/versions/%4 HTTP/1.1\r\n\r\n",
      "GET /v1/versions/a% HTTP/1.1\r\n\r\n",
      "GET /a b HTTP/1.1\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS hello on the plain port
      "garbage\r\n\r\n",
  };
  for (const char* bytes : forwarded) {
    INFO(bytes);
    CHECK(KindOf(bytes) == Kind::kForward);
  }
}

TEST_CASE("front: answers carry cpprest's status line and fields", "[front]") {
  HttpResponse ok;
  ok.body = "{\"status\":\"ok\"}";
  CHECK(FormatFrontResponse(ok, false) ==
        "HTTP/1.1 200 OK\r\nContent-Length: 15\r\nContent-Type: application/json\r\n\r\n{\"status\":\"ok\"}");

  HttpResponse not_allowed;
  not_allowed.status = 405;
  not_allowed.body = "{}";
  not_allowed.headers = {{"Allow", "GET, HEAD"}};
  CHECK(FormatFrontResponse(not_allowed, false) ==
        "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}");

  HttpResponse unavailable;
  unavailable.status = 503;
  unavailable.content_type = "text/plain; version=0.0.4; charset=utf-8";
  CHECK(FormatFrontResponse(unavailable, true) ==
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nContent-Type: text/plain; version=0.0.4; "
        "charset=utf-8\r\nConnection: close\r\n\r\n");
}
