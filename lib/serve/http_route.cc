#include "http_route.h"

#include <vector>

#include "fleet_retire.h"
#include "names.h"

namespace dbos_drain {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Route Bad(std::string why) {
  Route r;
  r.kind = RouteKind::kBadRequest;
  r.error = std::move(why);
  return r;
}

Route Method(const std::string& method, const char* allow, RouteKind kind) {
  // `allow` is a ", "-separated list of methods; the request's must be one of them exactly.
  Route r;
  const std::string a = allow;
  bool ok = false;
  for (size_t p = 0; p <= a.size();) {
    size_t comma = a.find(", ", p);
    if (a.compare(p, (comma == std::string::npos ? a.size() : comma) - p, method) == 0 &&
        (comma == std::string::npos ? a.size() : comma) - p == method.size()) {
      ok = true;
    }
    if (comma == std::string::npos) break;
    p = comma + 2;
  }
  if (ok) {
    r.kind = kind;
  } else {
    r.kind = RouteKind::kMethodNotAllowed;
    r.allow = a;
  }
  return r;
}

// The query's key=value pairs in order, keys and values still encoded; a pair without '='
// has no value.
struct QueryParam {
  std::string key;
  std::optional<std::string> value;
};
std::vector<QueryParam> SplitQuery(const std::string& query) {
  std::vector<QueryParam> out;
  if (query.empty()) return out;
  size_t p = 0;
  while (true) {
    auto amp = query.find('&', p);
    std::string pair = query.substr(p, amp == std::string::npos ? std::string::npos : amp - p);
    auto eq = pair.find('=');
    QueryParam q;
    q.key = pair.substr(0, eq);
    if (eq != std::string::npos) q.value = pair.substr(eq + 1);
    out.push_back(std::move(q));
    if (amp == std::string::npos) break;
    p = amp + 1;
  }
  return out;
}

}  // namespace

std::optional<std::string> PercentDecode(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

Route RouteRequest(const std::string& method, const std::string& target) {
  if (target.empty() || target[0] != '/') return Bad("the request target must be an absolute path");
  if (target.size() > kMaxTargetBytes) return Bad("the request target is longer than 4096 bytes");
  auto qpos = target.find('?');
  std::string path = target.substr(0, qpos);
  std::string query = qpos == std::string::npos ? "" : target.substr(qpos + 1);
  if (path.find('#') != std::string::npos) path = path.substr(0, path.find('#'));

  // Split on '/', keeping empty segments so "/v1//versions" does not match.
  std::vector<std::string> seg;
  size_t start = 1;
  while (true) {
    auto slash = path.find('/', start);
    seg.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  // Tolerate one trailing slash ("/healthz/"), except where the last segment is a name:
  // "/v1/versions/" asks for an empty version (a template whose {{args.version}} came out empty)
  // and must be a 400, not the whole report.
  const bool names_last = seg.size() == 3 && seg[0] == "v1" && (seg[1] == "versions" || seg[1] == "queues");
  if (seg.size() > 1 && seg.back().empty() && !names_last) seg.pop_back();

  auto named = [&](RouteKind kind, const std::string& raw, const char* what) {
    auto decoded = PercentDecode(raw);
    if (!decoded) return Bad(std::string("the ") + what + " in the path has a broken percent-encoding");
    if (auto why = CheckName(*decoded, what); !why.empty()) return Bad(why);
    Route r = Method(method, "GET, HEAD", kind);
    r.name = *decoded;
    return r;
  };

  if (seg.size() == 1 && seg[0] == "healthz") return Method(method, "GET, HEAD", RouteKind::kHealthz);
  if (seg.size() == 1 && seg[0] == "readyz") return Method(method, "GET, HEAD", RouteKind::kReadyz);
  if (seg.size() == 1 && seg[0] == "metrics") return Method(method, "GET, HEAD", RouteKind::kMetrics);
  if (seg.size() >= 2 && seg[0] == "v1" && seg[1] == "versions") {
    if (seg.size() == 2) {
      Route r = Method(method, "GET, HEAD", RouteKind::kVersions);
      if (r.kind != RouteKind::kVersions) return r;
      // The only query parameter: all=true|false (the last one given wins).
      for (const auto& q : SplitQuery(query)) {
        if (q.key != "all") continue;
        const auto value = q.value ? PercentDecode(*q.value) : std::nullopt;
        if (value == std::string("true")) {
          r.all = true;
        } else if (value == std::string("false")) {
          r.all = false;
        } else {
          return Bad("the all parameter takes true or false (GET /v1/versions?all=true lists every version)");
        }
      }
      return r;
    }
    if (seg.size() == 3) return named(RouteKind::kVersion, seg[2], "version");
    return Bad("a version is one path segment; encode '/' as %2F");
  }
  if (seg.size() >= 2 && seg[0] == "v1" && seg[1] == "queues") {
    if (seg.size() == 2) return Bad("name the queue: /v1/queues/{queue}");
    if (seg.size() > 3) return Bad("a queue is one path segment; encode '/' as %2F");
    Route r = named(RouteKind::kQueue, seg[2], "queue");
    if (r.kind != RouteKind::kQueue) return r;
    // The only query parameter: version=V.
    for (const auto& q : SplitQuery(query)) {
      if (q.key != "version") continue;
      if (!q.value) return Bad("version= needs a value");
      std::string raw = *q.value;
      for (auto& c : raw) if (c == '+') c = ' ';
      auto v = PercentDecode(raw);
      if (!v) return Bad("the version parameter has a broken percent-encoding");
      if (auto why = CheckName(*v, "version"); !why.empty()) return Bad(why);
      r.version = *v;
    }
    return r;
  }
  if (seg.size() == 2 && seg[0] == "v1" && seg[1] == "retire") {
    Route r = Method(method, "GET, HEAD", RouteKind::kRetire);
    if (r.kind != RouteKind::kRetire) return r;
    std::optional<std::string> keep;
    for (const auto& q : SplitQuery(query)) {
      if (q.key != "keep") continue;
      auto v = q.value ? PercentDecode(*q.value) : std::optional<std::string>(std::string());
      if (!v) return Bad("the keep parameter has a broken percent-encoding");
      keep = *v;  // the last one given wins
    }
    if (!keep) return Bad("name the versions to keep: GET /v1/retire?keep=V[,V...] (e.g. the new ReplicaSet's hash)");
    std::string why;
    auto names = ParseKeepList(*keep, &why);
    if (!names) return Bad(why);
    r.keep = std::move(*names);
    return r;
  }
  if (seg.size() == 2 && seg[0] == "v1" && seg[1] == "hold") {
    Route r = Method(method, "GET, HEAD", RouteKind::kHold);
    if (r.kind != RouteKind::kHold) return r;
    for (const auto& q : SplitQuery(query)) {
      if (q.key != "version" && q.key != "executor" && q.key != "timeout") continue;
      auto v = q.value ? PercentDecode(*q.value) : std::optional<std::string>(std::string());
      if (!v) return Bad("the " + q.key + " parameter has a broken percent-encoding");
      if (q.key == "timeout") {
        if (v->empty() || v->size() > 6 || v->find_first_not_of("0123456789") != std::string::npos) {
          return Bad("timeout takes whole seconds (0 or more): the longest the hold may wait before answering");
        }
        r.bound_s = std::stoll(*v);
        continue;
      }
      if (auto why = CheckName(*v, q.key == "version" ? "version" : "executor"); !why.empty()) return Bad(why);
      (q.key == "version" ? r.version : r.executor) = *v;
    }
    if (!r.version || !r.executor) {
      return Bad("the hold needs version= and executor=: GET /v1/hold?version=$DBOS__APPVERSION&executor=$DBOS__VMID");
    }
    return r;
  }
  if (seg.size() == 2 && seg[0] == "v1" && seg[1] == "patches") return Method(method, "GET, HEAD", RouteKind::kPatches);
  if (seg.size() == 3 && seg[0] == "v1" && seg[1] == "flagger" && seg[2] == "confirm-promotion") {
    return Method(method, "POST", RouteKind::kFlaggerConfirmPromotion);
  }
  return Route{};
}

}  // namespace dbos_drain
