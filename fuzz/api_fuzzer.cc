// Fuzzes HandleRequest (serve/api.h), the whole API without sockets, over a real ReportCache
// holding a fixed report. Input: line 1 the method, line 2 the target, line 3 the Content-Type,
// line 4 the Authorization header, the rest the body (missing lines: GET, "/", none, none, "").
// Invariants: no crash or exception; the status is one the API documents; HEAD has no body;
// every other answer has one; every JSON answer parses, and a 4xx/5xx JSON answer has the error
// shape {"drained": false, "error": {"code", "message"}}; only the protected routes answer 401.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "api.h"

namespace {

using namespace dbos_drain;

Snapshot SampleSnapshot() {
  Snapshot s;
  s.shape.database = "appdb";
  s.shape.has_application_versions = true;
  s.shape.has_queues = true;
  s.shape.queues_have_worker_concurrency = true;
  s.as_of_ms = 1'800'000'000'000;
  s.registered = {{"v1", 1, 1}, {"v2", 2, 2}};
  s.queues = {{"tasks", std::nullopt, 2}};
  InFlightGroup g;
  g.version = "v1";
  g.queue = "tasks";
  g.status = InFlightStatus::kEnqueued;
  g.count = 3;
  g.oldest_created_at_ms = 1'799'999'000'000;
  s.groups.push_back(g);
  return s;
}

struct Service {
  ServiceMetrics metrics;
  Logger log{Logger::Format::kJson, LogLevel::kError};
  std::unique_ptr<ReportCache> cache;
  std::unique_ptr<ApiContext> open, protected_;

  Service() {
    ReportCache::Options o;
    o.refresh = std::chrono::hours(24);  // one read, then every request is answered from memory
    o.max_staleness = std::chrono::hours(48);
    cache = std::make_unique<ReportCache>([](const std::vector<std::string>&) { return SampleSnapshot(); }, nullptr,
                                          PolicyOptions{}, o);
    open = std::make_unique<ApiContext>(ApiContext{*cache, {}, std::nullopt, metrics, log, "fuzz", nullptr});
    protected_ = std::make_unique<ApiContext>(ApiContext{*cache, {}, std::string("shop"), metrics, log, "fuzz",
                                                         [](const std::string& h) { return h == "Bearer t"; }});
  }
};

std::string Line(const std::string& in, size_t& pos, const char* fallback) {
  if (pos > in.size()) return fallback;
  auto nl = in.find('\n', pos);
  std::string out = in.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
  pos = nl == std::string::npos ? in.size() + 1 : nl + 1;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Service service;
  static const std::set<int> kStatuses = {200, 400, 401, 404, 405, 409, 413, 415, 422, 500, 503};
  const std::string input(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  HttpRequest req;
  req.method = Line(input, pos, "GET");
  req.target = Line(input, pos, "/");
  req.content_type = Line(input, pos, "");
  req.authorization = Line(input, pos, "");
  req.body = pos <= input.size() ? input.substr(pos) : "";
  req.body_too_large = req.body.size() > kMaxBodyBytes;

  for (const ApiContext* ctx : {service.open.get(), service.protected_.get()}) {
    HttpResponse r = HandleRequest(*ctx, req);
    if (!kStatuses.count(r.status)) std::abort();
    if (r.status == 500) std::abort();  // no input may reach the internal-error path
    if (r.status == 401 && !ctx->authorize) std::abort();
    if (req.method == "HEAD") {
      if (!r.body.empty()) std::abort();
      continue;
    }
    if (r.body.empty()) std::abort();
    if (r.content_type != "application/json") continue;
    auto doc = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) std::abort();
    if (r.status >= 400) {
      if (!doc.is_object() || doc.value("drained", true) || !doc.contains("error") ||
          !doc["error"].is_object() || !doc["error"].contains("code") || !doc["error"].contains("message")) {
        std::abort();
      }
    }
  }
  return 0;
}
