// `dbos-drain serve` under test: the real binary on a free loopback port, started with short
// timings (--refresh 200ms, --query-timeout 1s unless a test says otherwise), its JSON log lines
// parsed, stopped with SIGTERM at the end. Plus helpers the service tests share. The one HTTP
// harness of the suite: every test of `serve` over HTTP uses it (and http_client.h).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clock.h"
#include "http_client.h"
#include "process.h"
#include "temp_files.h"
#include "test_database.h"

namespace dbos_drain::servicetest {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Since;
using testing::TempDir;

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

// A ServeConfig for `db` (its URL, and --schema when it is not the default "dbos"), plus flags.
inline ServeConfig Config(const testing::TestDatabase& db, const std::vector<std::string>& extra_args = {}) {
  ServeConfig c = Config(db.url());
  if (db.schema() != "dbos") c.extra_args = {"--schema", db.schema()};
  c.extra_args.insert(c.extra_args.end(), extra_args.begin(), extra_args.end());
  return c;
}

// A service whose every read fails: its URL names a database that does not exist on `db`'s
// server (so it never becomes ready: wait_ready is off).
inline ServeConfig UnreadableConfig(const testing::TestDatabase& db) {
  ServeConfig c = Config("postgresql://postgres@" + db.host() + ":" + db.port() + "/dbos_drain_no_such_database");
  c.wait_ready = false;
  return c;
}

// Calls of dbos-drain's report query in `db` so far (pg_stat_statements, which the test must
// have enabled). Identifiers survive its normalization (constants do not), so match on them.
inline int64_t ReportQueryCalls(const testing::TestDatabase& db) {
  auto r = db.Query(
      "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements "
      "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
      "AND query LIKE '%AS kind, application_version AS version%'");
  return r[0][0].as<int64_t>();
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
  // POST `body` with Content-Type `content_type` (none when empty) and Content-Length.
  HttpReply Post(const std::string& target, const std::string& body,
                 const std::string& content_type = "application/json", RequestOptions options = {}) const;

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
// Calls `fetch` (any request) until `accept(reply)` or `timeout`; returns the last reply.
HttpReply PollUntil(const std::function<HttpReply()>& fetch, const std::function<bool(const HttpReply&)>& accept,
                    std::chrono::milliseconds timeout = seconds(10), std::chrono::milliseconds every = milliseconds(50));

bool IsDrainedTrue(const HttpReply& r);  // 2xx with JSON "drained": true
bool IsJsonError(const HttpReply& r, int status, const std::string& code);

// The body up to its first newline (the Flagger answer's summary line).
std::string FirstLine(const HttpReply& r);

}  // namespace dbos_drain::servicetest
