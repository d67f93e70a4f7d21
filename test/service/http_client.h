// A small HTTP/1.1 client over raw sockets for the service tests: exact bytes on the wire (hostile
// requests, half-sent requests, oversized headers), a hard deadline on every exchange (a hang is a
// test failure, never a stuck test), and optional TLS through OpenSSL with certificate checks.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dbos_drain::servicetest {

struct TlsClient {
  std::string ca_file;                 // PEM file the server certificate must chain to
  std::string expect_host = "127.0.0.1";  // checked against the certificate (IP or DNS name)
  int max_version = 0;  // e.g. TLS1_1_VERSION to offer only old protocols; 0: OpenSSL's default
  std::string ciphers;  // TLS 1.2 suites to offer only (OpenSSL names, "AES128-SHA"); "": OpenSSL's default
};

struct RequestOptions {
  std::chrono::milliseconds timeout{10000};  // connect + send + whole response
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<TlsClient> tls;
};

struct HttpReply {
  int status = 0;  // 0: no complete response (see error)
  std::string status_line;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string error;  // why status is 0: "timeout", "connection refused", "closed", ...
  std::chrono::milliseconds elapsed{0};

  std::string Header(const std::string& lower_name) const;
  bool HasHeader(const std::string& lower_name) const { return headers.count(lower_name) > 0; }
  // The body as JSON; a parse failure throws with the whole reply in the message.
  nlohmann::json Json() const;
  // "503 after 12 ms: {...}" for assertion messages.
  std::string Describe() const;
};

// One request on a fresh connection (Connection: close), with Host added, and Content-Length
// for a body or a POST unless `options.headers` has Content-Length or Transfer-Encoding.
HttpReply Request(int port, const std::string& method, const std::string& target, const RequestOptions& options = {});
inline HttpReply Get(int port, const std::string& target, const RequestOptions& options = {}) {
  return Request(port, "GET", target, options);
}

// Sends `raw` as is on a fresh connection and reads one response (or until the server closes).
// `head`: the response to a HEAD has no body whatever Content-Length says; whatever bytes the
// server sends after its headers anyway, until it closes, are `body` (so `body.empty()` checks).
HttpReply Exchange(int port, const std::string& raw, const RequestOptions& options = {}, bool head = false);

// A connection the test drives by hand (slow clients, pipelining, half requests).
class Connection {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error on failure.
  explicit Connection(int port, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends all of `bytes`; false when the peer closed or reset the connection.
  bool Send(const std::string& bytes);
  // Reads one response within `timeout`.
  HttpReply ReadResponse(std::chrono::milliseconds timeout, bool head = false);
  // True when the server has closed its side (reads EOF or a reset) within `timeout`.
  bool ClosedByPeer(std::chrono::milliseconds timeout);
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string pending_;  // bytes read past the previous response
};

// Percent-encodes every byte outside [A-Za-z0-9-._~].
std::string PercentEncode(const std::string& s);

}  // namespace dbos_drain::servicetest
