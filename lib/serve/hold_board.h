// The pods holding in preStop (GET /v1/hold): any number of waiting holders, no thread each, no
// database read each. One board thread decides for all of them from the report cache.
//
// Contract:
//  - Hold() registers a holder; its `done` is called exactly once: when the release rule
//    (core/hold_rule.h) says the pod may die (release), when the holder's bound passes (the
//    last decision, bound_passed), or at Shutdown() (503). From the board's thread, never from
//    the caller's, unless the board is already stopped (then at once, 503).
//  - While anyone holds, the board thread keeps the report fresh by asking the cache (Get(): at
//    most one read per refresh interval, shared with every other caller, single flight), and
//    decides every holder after each report it sees: a report read by anyone wakes it (Wake(),
//    called from the cache's observer), and it sleeps until the next refresh is due or the
//    earliest bound, whichever comes first. So a release comes at most about one refresh after
//    the report that allows it was read, plus the read itself.
//  - A report older than the staleness bound is never used (the cache does not return it): the
//    holders hold (database_unreadable).
//  - Executors that hold now or were released within `leaving_for` are "leaving": the rule does
//    not count them as the version's other live worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api.h"
#include "hold_rule.h"
#include "report_cache.h"

namespace dbos_drain {

class HoldBoard {
 public:
  using Clock = std::chrono::steady_clock;
  using Done = std::function<void(HttpResponse)>;

  // `cap`: the longest bound honoured (kMaxHoldBound); `leaving_for`: how long a released
  // executor still counts as leaving (a few staleness bounds: its session may linger in a report).
  HoldBoard(ReportCache& cache, std::chrono::milliseconds cap, std::chrono::milliseconds leaving_for);
  ~HoldBoard();  // Shutdown(), then joins
  HoldBoard(const HoldBoard&) = delete;
  HoldBoard& operator=(const HoldBoard&) = delete;

  // `bound`: the caller's, clamped to [0, cap].
  void Hold(HoldQuestion question, std::chrono::milliseconds bound, Done done);
  // A new report may be there: decide again now.
  void Wake();
  // Answers every holder 503 (serve is stopping; the caller asks another replica) and stops.
  void Shutdown();

  size_t holding() const;
  std::chrono::milliseconds cap() const { return cap_; }

 private:
  struct Holder {
    HoldQuestion question;
    Clock::time_point arrived;
    Clock::time_point deadline;
    Done done;
  };
  void Loop();
  // Decides every holder against `result`; returns the answers to send (outside the lock).
  std::vector<std::pair<Done, HttpResponse>> DecideAll(const ReportCache::Result& result, Clock::time_point now);
  std::set<std::string> Leaving(const std::string& version, Clock::time_point now) const;  // under mu_

  ReportCache& cache_;
  const std::chrono::milliseconds cap_;
  const std::chrono::milliseconds leaving_for_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_id_ = 0;
  std::map<uint64_t, Holder> holders_;
  // version -> executor -> released at
  std::map<std::string, std::map<std::string, Clock::time_point>> released_;
  bool woken_ = false;
  Clock::time_point planned_wake_{};  // when the loop's next pass is due
  bool stopping_ = false;
  std::thread thread_;
};

// The HTTP answer for a decision: 200 release, 409 bound passed and still held.
HttpResponse HoldResponse(const HoldQuestion& question, const HoldDecision& decision, bool bound_passed,
                          const CachedReport* report);

}  // namespace dbos_drain
