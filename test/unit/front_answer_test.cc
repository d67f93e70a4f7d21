// How serve's front listener reads requests (plugin/front_answer.h): heads, bodies, chunked
// bodies and their limits, rejects with the documented error shape, and the bytes of its answers.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>

#include "front_answer.h"

using namespace dbos_drain;
using Kind = RequestReader::Step::Kind;

namespace {

// Feeds `bytes` to a fresh reader in pieces of `piece` bytes, as a connection would.
RequestReader::Step ReadAll(const std::string& bytes, std::size_t piece = 1 << 20) {
  RequestReader reader;
  std::string buffered;
  RequestReader::Step step;
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    buffered += bytes.substr(at, piece);
    step = reader.Put(buffered);
    buffered.erase(0, step.consumed);
    if (step.kind != Kind::kNeedMore) return step;
  }
  return step;
}

void CheckReject(const RequestReader::Step& s, int status, const std::string& code) {
  REQUIRE(s.kind == Kind::kReject);
  CHECK(s.reject.status == status);
  const auto j = nlohmann::json::parse(s.reject.body);
  CHECK(j.at("drained") == false);
  CHECK(j.at("error").at("code") == code);
}

}  // namespace

TEST_CASE("front: a GET is read whole, with its headers, the target still encoded", "[front]") {
  const std::string head =
      "GET /v1/versions/v%201?x=1 HTTP/1.1\r\nHost: drain\r\nAuthorization: Bearer s3cret\r\n"
      "Content-Type: text/plain\r\nAccept: */*\r\n\r\n";
  for (std::size_t piece : {std::size_t(1), std::size_t(7), head.size()}) {
    const auto s = ReadAll(head, piece);
    REQUIRE(s.kind == Kind::kRequest);
    CHECK(s.request.method == "GET");
    CHECK(s.request.target == "/v1/versions/v%201?x=1");
    CHECK(s.request.authorization == "Bearer s3cret");
    CHECK(s.request.content_type == "text/plain");
    CHECK(s.request.body.empty());
    CHECK(s.keep_alive);
  }
  CHECK_FALSE(ReadAll("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
  CHECK_FALSE(ReadAll("GET / HTTP/1.0\r\n\r\n").keep_alive);
  CHECK(ReadAll("GET /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n").kind == Kind::kRequest);
}

TEST_CASE("front: pipelined requests are taken one at a time, in order", "[front]") {
  const std::string first = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string second = "POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
  RequestReader reader;
  auto a = reader.Put(first + second);
  REQUIRE(a.kind == Kind::kRequest);
  CHECK(a.request.target == "/healthz");
  CHECK(a.consumed == first.size());
  reader.Reset();
  auto b = reader.Put(second);
  REQUIRE(b.kind == Kind::kRequest);
  CHECK(b.request.method == "POST");
  CHECK(b.request.body == "{}");
  CHECK(b.consumed == second.size());
}

TEST_CASE("front: bodies by Content-Length and chunked, with the head's end reported", "[front]") {
  RequestReader reader;
  auto h = reader.Put("POST /v1/flagger/confirm-promotion HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
  CHECK(h.kind == Kind::kNeedMore);
  CHECK(h.head_done);
  CHECK(h.body_follows);
  auto rest = reader.Put("cde");
  REQUIRE(rest.kind == Kind::kRequest);
  CHECK_FALSE(rest.head_done);
  CHECK(rest.request.body == "abcde");
  const auto c = ReadAll("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n", 3);
  REQUIRE(c.kind == Kind::kRequest);
  CHECK(c.request.body == "abcde");
}

TEST_CASE("front: heads over 8 KiB are a 431", "[front]") {
  CheckReject(ReadAll("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(kMaxFrontHead, 'a') + "\r\n\r\n"), 431,
              "header_too_large");
  CheckReject(ReadAll("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(3 * kMaxFrontHead, 'a'), 4096), 431,
              "header_too_large");
  CheckReject(ReadAll("GET /v1/versions/" + std::string(1 << 20, 'a') + " HTTP/1.1\r\n\r\n", 16384), 431,
              "header_too_large");
}

TEST_CASE("front: bodies over 64 KiB are a 413 before they are read", "[front]") {
  const auto cl = ReadAll("POST /x HTTP/1.1\r\nContent-Length: " + std::to_string(kMaxBodyBytes + 1) + "\r\n\r\n");
  CheckReject(cl, 413, "payload_too_large");
  // A chunk size far past the limit is refused from its size line, with no chunk byte held.
  const std::string head = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  CheckReject(ReadAll(head + "7ffffff0\r\n" + std::string(1000, 'x')), 413, "payload_too_large");
  // Chunks each under the limit, together over it.
  std::string many = head;
  for (int i = 0; i < 5; ++i) many += "4000\r\n" + std::string(0x4000, 'x') + "\r\n";
  CheckReject(ReadAll(many, 4096), 413, "payload_too_large");
}

TEST_CASE("front: chunk sizes that are not hex or overflow are a 400", "[front]") {
  const std::string head = "GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  // On a GET: refused at the head already.
  CheckReject(ReadAll(head + "-1\r\n\r\n"), 400, "bad_request");
  const std::string post = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const char* size : {"-1", "zz", "10000000000000000", "ffffffffffffffffff", ""}) {
    INFO(size);
    const auto s = ReadAll(post + size + "\r\nabc\r\n0\r\n\r\n");
    REQUIRE(s.kind == Kind::kReject);
    CHECK((s.reject.status == 400 || s.reject.status == 413));
  }
  // A size line that never ends is bounded too.
  CheckReject(ReadAll(post + "1;" + std::string(3 * kMaxFrontHead, 'e'), 4096), 400, "bad_request");
}

TEST_CASE("front: a GET or HEAD with a body is a 400", "[front]") {
  CheckReject(ReadAll("GET /healthz HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"), 400, "bad_request");
  CheckReject(ReadAll("HEAD /healthz HTTP/1.1\r\nContent-Length: 67108864\r\n\r\n"), 400, "bad_request");
  CheckReject(ReadAll("GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400, "bad_request");
}

TEST_CASE("front: malformed heads are a 400 that echoes nothing", "[front]") {
  const char* malformed[] = {
      "GET /healthz\r\n\r\n",
      "G(T /healthz HTTP/1.1\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nNoColon\r\n\r\n",
      "GET /healthz HTTP/2.0\r\n\r\n",
      "GET http://drain/healthz HTTP/1.1\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\n\r\n",
      "GET /v1/versions/a#frag HTTP/1.1\r\n\r\n",
      "GET /a b HTTP/1.1\r\n\r\n",
      "GET /v1/versions/\xC3\xA9 HTTP/1.1\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\n",
      "POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
      "POST /x HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS hello on the plain port
      "garbage\r\n\r\n",
  };
  for (const char* bytes : malformed) {
    INFO(bytes);
    const auto s = ReadAll(bytes);
    CheckReject(s, 400, "bad_request");
    CHECK(s.reject.body.find("healthz") == std::string::npos);
  }
  // Broken percent-escapes are URI characters: routing answers them (its own JSON 400).
  CHECK(ReadAll("GET /v1/versions/%zz HTTP/1.1\r\n\r\n").kind == Kind::kRequest);
  CHECK(ReadAll("GET /healthz HTT").kind == Kind::kNeedMore);
  CHECK(ReadAll("").kind == Kind::kNeedMore);
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
