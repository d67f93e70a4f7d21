// Fuzzes request routing and percent-decoding: any method and target must route without a
// crash, a routed name must satisfy the name rules the database layer relies on, and only
// GET /v1/versions carries ?all=true.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "http_route.h"
#include "names.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  // First line: method; the rest: the request target.
  auto nl = input.find('\n');
  std::string method = nl == std::string::npos ? "GET" : input.substr(0, nl);
  std::string target = nl == std::string::npos ? input : input.substr(nl + 1);
  dbos_drain::Route r = dbos_drain::RouteRequest(method, target);
  if (r.kind == dbos_drain::RouteKind::kVersion || r.kind == dbos_drain::RouteKind::kQueue) {
    if (!dbos_drain::CheckName(r.name, "name").empty()) std::abort();
  }
  if (r.version && !dbos_drain::CheckName(*r.version, "version").empty()) std::abort();
  if (r.kind == dbos_drain::RouteKind::kMethodNotAllowed && r.allow.empty()) std::abort();
  if (r.all && r.kind != dbos_drain::RouteKind::kVersions) std::abort();  // ?all= is /v1/versions' only
  (void)dbos_drain::PercentDecode(input);
  return 0;
}
