// For the integration HTTP tests: a raw HTTP/1.1 client over loopback (so a test controls every
// byte: missing headers, oversized bodies, exact Flagger payloads) and `dbos-drain serve`
// started on a free port against a TestDatabase.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "process.h"
#include "test_database.h"

namespace dbos_drain::integration {

using testing::BackgroundProcess;
using testing::TestDatabase;
using testing::Workflow;

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::chrono::milliseconds elapsed{0};

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  std::string FirstLine() const { return body.substr(0, body.find('\n')); }
};

inline std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Sends one request (Connection: close) and reads the whole answer. `headers` are sent as given;
// Content-Length is added for a non-empty body unless `raw_length` says otherwise.
inline HttpResult HttpRequest(int port, const std::string& method, const std::string& target,
                              const std::vector<std::pair<std::string, std::string>>& headers = {},
                              const std::string& body = "", std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto start = std::chrono::steady_clock::now();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    FAIL("cannot connect to 127.0.0.1:" << port);
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n";
  bool has_length = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (Lower(k) == "content-length" || Lower(k) == "transfer-encoding") has_length = true;
  }
  if (!has_length && (!body.empty() || method == "POST")) req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  // The server may answer (413) and close before reading everything: ignore write errors.
  for (size_t off = 0; off < req.size();) {
    ssize_t n = send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[16384];
  while (true) {
    auto left = timeout - (std::chrono::steady_clock::now() - start);
    if (left <= std::chrono::milliseconds(0)) break;
    pollfd p{fd, POLLIN, 0};
    int pr = poll(&p, 1, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
    if (pr <= 0) break;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  HttpResult r;
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    FAIL("no HTTP answer for " << method << " " << target << " (read " << raw.size() << " bytes)");
  }
  std::string head = raw.substr(0, head_end);
  std::string rest = raw.substr(head_end + 4);
  auto sp = head.find(' ');
  r.status = std::stoi(head.substr(sp + 1, 3));
  size_t line = head.find("\r\n");
  while (line != std::string::npos) {
    size_t next = head.find("\r\n", line + 2);
    std::string h = head.substr(line + 2, next == std::string::npos ? std::string::npos : next - line - 2);
    auto colon = h.find(':');
    if (colon != std::string::npos) {
      std::string v = h.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers[Lower(h.substr(0, colon))] = v;
    }
    line = next;
  }
  if (Lower(r.Header("transfer-encoding")) == "chunked") {
    std::string body_out;
    size_t p = 0;
    while (p < rest.size()) {
      size_t e = rest.find("\r\n", p);
      size_t n = std::stoul(rest.substr(p, e - p), nullptr, 16);
      if (n == 0) break;
      body_out += rest.substr(e + 2, n);
      p = e + 2 + n + 2;
    }
    r.body = body_out;
  } else if (!r.Header("content-length").empty()) {
    r.body = rest.substr(0, std::stoul(r.Header("content-length")));
  } else {
    r.body = rest;
  }
  return r;
}

// `dbos-drain serve` on 127.0.0.1:<free port>, JSON logs on stderr.
class Server {
 public:
  explicit Server(const std::string& database_url, std::vector<std::string> extra = {}, const std::string& schema = "dbos") {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = testing::FreeLoopbackPort();
      std::vector<std::string> argv = {testing::DrainBinary(), "serve", "--listen",
                                       "http://127.0.0.1:" + std::to_string(port_), "--database-url", database_url,
                                       "--schema", schema, "--refresh", "100ms", "--log-format", "json"};
      argv.insert(argv.end(), extra.begin(), extra.end());
      testing::ProcessOptions options;
      options.timeout = std::chrono::seconds(60);
      process_ = std::make_unique<BackgroundProcess>(argv, options);
      if (testing::WaitForTcpPort(port_, std::chrono::seconds(10))) return;
      std::string err = process_->StderrSoFar();
      process_.reset();
      if (err.find("cannot listen") == std::string::npos) FAIL("dbos-drain serve did not start:\n" << err);
    }
    FAIL("dbos-drain serve could not listen on a free port");
  }
  Server(const TestDatabase& db, std::vector<std::string> extra = {})
      : Server(db.url(), std::move(extra), db.schema()) {}

  int port() const { return port_; }
  std::string Log() const { return process_->StderrSoFar(); }

  HttpResult Get(const std::string& target) const { return HttpRequest(port_, "GET", target); }
  HttpResult Post(const std::string& target, const std::string& body,
                  const std::string& content_type = "application/json") const {
    std::vector<std::pair<std::string, std::string>> h;
    if (!content_type.empty()) h.push_back({"Content-Type", content_type});
    return HttpRequest(port_, "POST", target, h, body);
  }

  // Polls until `check` accepts an answer to GET/POST (the cache refreshes every 100 ms).
  template <typename Fetch, typename Check>
  HttpResult Until(Fetch fetch, Check check, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    HttpResult last;
    testing::WaitUntil([&] {
      last = fetch();
      return check(last);
    }, timeout, std::chrono::milliseconds(50));
    return last;
  }

 private:
  int port_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
};

// A URL on the same server as `db` naming a database that does not exist: every read fails.
inline std::string MissingDatabaseUrl(const TestDatabase& db) {
  return "postgresql://postgres@" + db.host() + ":" + db.port() + "/dbos_drain_no_such_database";
}

}  // namespace dbos_drain::integration
