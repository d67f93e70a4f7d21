// `dbos-drain serve`'s process lifecycle: SIGTERM/SIGINT, and the shutdown that answers the
// requests in flight before closing the listener, within 5 s whatever happens.
#pragma once

#include <signal.h>

#include <future>

#include "http_server.h"
#include "logger.h"
#include "report_cache.h"

namespace dbos_drain::cli {

// Blocks SIGTERM and SIGINT in the calling thread, so every thread started after it inherits the
// mask: construct it before any thread starts (cpprest's pool starts its threads in
// initialize_with_threads; the listener and the worker pool start theirs later). A thread that has them unblocked may be the one the kernel delivers
// SIGTERM to, and its default action ends the process at once, with no shutdown and no exit 0.
class StopSignals {
 public:
  StopSignals();
  // Waits for one of them; logs "stopping" with its name.
  void Wait(Logger& log);

 private:
  sigset_t signals_;
};

// After the stop signal: answer everything from now on with Connection: close, let requests in
// flight finish (a read may take query timeout + 1 s), then release the ones still waiting on a
// hung database (they get the report within max-staleness, or a 503), and only then close the
// listener (answers being written get 500 ms more). Until then new requests are still answered,
// with Connection: close, so a client that raced the endpoint removal is not cut. Past 4 s: logs
// a warning and "stopped" and ends the process with exit 0 at once.
// `warm_up`: the first read, started at start-up; waited for after the cache is released.
void ShutDown(HttpServer& server, ReportCache& cache, Logger& log, std::future<void>& warm_up);

}  // namespace dbos_drain::cli
