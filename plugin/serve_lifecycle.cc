#include "serve_lifecycle.h"

#include <pthread.h>

#include <cstdio>
#include <cstdlib>

namespace dbos_drain::cli {

StopSignals::StopSignals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

void StopSignals::Wait(Logger& log) {
  int sig = 0;
  sigwait(&signals_, &sig);
  log.Info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
}

void ShutDown(HttpServer& server, ReportCache& cache, Logger& log, std::future<void>& warm_up) {
  auto closing = std::async(std::launch::async, [&server, &cache] {
    server.BeginShutdown();
    if (!server.WaitIdle(std::chrono::milliseconds(2500))) {
      cache.Shutdown();
      server.WaitIdle(std::chrono::milliseconds(1000));
    }
    server.Close();
  });
  if (closing.wait_for(std::chrono::seconds(4)) != std::future_status::ready) {
    log.Warn("requests still in flight after 4s; exiting anyway");
    log.Info("stopped");
    std::fflush(nullptr);
    std::_Exit(0);
  }
  cache.Shutdown();  // releases the warm-up read if it still waits
  warm_up.wait();
  log.Info("stopped");
}

}  // namespace dbos_drain::cli
