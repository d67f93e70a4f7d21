// `dbos-drain serve`'s flags, parsed and checked, with the values derived from them (the cache's
// timings from --refresh, --max-staleness and the database timeouts; the worker threads).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "auth_token.h"
#include "drain_policy.h"
#include "http_server.h"
#include "logger.h"
#include "patch_policy.h"
#include "report_cache.h"
#include "system_database.h"

namespace dbos_drain::cli {

struct ServeOptions {
  std::string listen;
  Logger::Format log_format = Logger::Format::kJson;
  LogLevel log_level = LogLevel::kInfo;
  ConnectionSettings settings;
  PolicyOptions policy;
  PatchOptions patch_policy;  // --patch-overlap
  bool patch_metrics = false; // --patch-metrics
  // refresh = --refresh; max_staleness = --max-staleness or 3 x refresh + query timeout;
  // wait_timeout = query timeout + 1 s; abort_after = query timeout + connect timeout + 1 s.
  ReportCache::Options cache;
  std::optional<TlsFiles> tls;
  std::unique_ptr<AuthToken> token;  // --auth-token-file, read once here (it must exist)
  unsigned threads = 2;              // cpprest's pool (the HTTP client side): --threads, or the cores (at least 2)
  ConnectionLimits limits;           // --header-timeout, --idle-timeout, --max-connections
};

// Parses the arguments after "serve". nullopt when --help was printed. Throws
// DrainError(kConfig) naming the flag that is wrong.
std::optional<ServeOptions> ParseServeOptions(int argc, char** argv);

}  // namespace dbos_drain::cli
