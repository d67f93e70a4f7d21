// `dbos-drain serve` under test: the real binary on a free loopback port, started with short
// timings (--refresh 200ms, --query-timeout 1s unless a test says otherwise), its JSON log lines
// parsed, stopped with SIGTERM at the end. Plus helpers the service tests share.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_client.h"
#include "process.h"

namespace dbos_drain::servicetest {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct ServeConfig {
  std::string database_url;
  std::string refresh = "200ms";
  std::string query_timeout = "1s";
  std::string connect_timeout = "1s";
  std::vector<std::string> extra_args;  // more flags (e.g. --auth-token-file F)
  bool https = false;                   // --listen https://127.0.0.1:PORT (pass the TLS flags in extra_args)
  bool wait_ready = true;               // wait until GET /readyz is 200 (the database answered)
  testing::ProcessOptions process;
};

// A ServeConfig for `database_url` with the default test timings.
inline ServeConfig Config(const std::string& database_url) {
  ServeConfig c;
  c.database_url = database_url;
  return c;
}

inline RequestOptions WithTimeout(std::chrono::milliseconds timeout) {
  RequestOptions o;
  o.timeout = timeout;
  return o;
}

class DrainService {
 public:
  // Starts the service and waits until it accepts connections (and, with wait_ready, is ready).
  // Throws std::runtime_error with the service's output when it does not come up in 15 s.
  explicit DrainService(ServeConfig config);
  ~DrainService();  // SIGKILL when still running

  int port() const { return port_; }
  testing::BackgroundProcess& process() { return *process_; }
  const ServeConfig& config() const { return config_; }

  HttpReply Get(const std::string& target, RequestOptions options = {}) const;
  HttpReply Request(const std::string& method, const std::string& target, RequestOptions options = {}) const;

  // stderr so far, one parsed JSON object per line. A line that is not JSON fails the test
  // (throws): every log line must be one JSON object, whatever the names in it.
  std::vector<nlohmann::json> LogLines() const;
  std::string Stderr() const { return process_->StderrSoFar(); }

  // SIGTERM and wait (up to `timeout`).
  testing::ProcessResult Stop(std::chrono::milliseconds timeout = seconds(10));

 private:
  ServeConfig config_;
  int port_ = 0;
  std::unique_ptr<testing::BackgroundProcess> process_;
};

// Polls `target` until `accept(reply)` or `timeout`; returns the last reply.
HttpReply PollUntil(const DrainService& service, const std::string& target,
                    const std::function<bool(const HttpReply&)>& accept, std::chrono::milliseconds timeout,
                    std::chrono::milliseconds every = milliseconds(50));

bool IsDrainedTrue(const HttpReply& r);  // 2xx with JSON "drained": true
bool IsJsonError(const HttpReply& r, int status, const std::string& code);

std::chrono::milliseconds Since(Clock::time_point t);

// A temporary directory removed (recursively) at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  void Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace dbos_drain::servicetest
