// The executor of hold_board.h: holders under one mutex, decisions from core/hold_rule.h, the
// answers sent outside the lock.
#include "hold_board.h"

#include <algorithm>

#include "report_json.h"
#include "set_verdict_json.h"

namespace dbos_drain {

HttpResponse HoldResponse(const HoldQuestion& question, const HoldDecision& decision, bool bound_passed,
                          const CachedReport* report) {
  HttpResponse r;
  r.status = decision.release ? 200 : 409;
  auto doc = HoldDecisionToJson(question, decision, bound_passed);
  doc["as_of"] = report ? nlohmann::json(FormatTimestamp(report->report.as_of_ms)) : nlohmann::json(nullptr);
  r.body = DumpJson(doc);
  if (!decision.release) r.headers.push_back({"Retry-After", "1"});
  return r;
}

HoldBoard::HoldBoard(ReportCache& cache, std::chrono::milliseconds cap, std::chrono::milliseconds leaving_for)
    : cache_(cache), cap_(cap), leaving_for_(leaving_for) {
  thread_ = std::thread([this] { Loop(); });
}

HoldBoard::~HoldBoard() {
  Shutdown();
  thread_.join();
}

size_t HoldBoard::holding() const {
  std::lock_guard<std::mutex> lock(mu_);
  return holders_.size();
}

void HoldBoard::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void HoldBoard::Hold(HoldQuestion question, std::chrono::milliseconds bound, Done done) {
  bound = std::clamp(bound, std::chrono::milliseconds(0), cap_);
  const auto now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      holders_[next_id_++] = Holder{std::move(question), now, now + bound, std::move(done)};
      // The loop sleeps until the next refresh or the earliest bound: wake it only when this
      // bound is earlier (1,000 arriving holders must not make 1,000 passes over the board).
      woken_ = woken_ || now + bound < planned_wake_;
      cv_.notify_all();
      return;
    }
  }
  done(ErrorResponse(503, "shutting_down", "dbos-drain is stopping; ask again (another replica answers)"));
}

void HoldBoard::Shutdown() {
  std::map<uint64_t, Holder> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    left.swap(holders_);
  }
  cv_.notify_all();
  for (auto& [id, h] : left) {
    h.done(ErrorResponse(503, "shutting_down", "dbos-drain is stopping; ask again (another replica answers)"));
  }
}

std::set<std::string> HoldBoard::Leaving(const std::string& version, Clock::time_point now) const {
  std::set<std::string> out;
  for (const auto& [id, h] : holders_) {
    if (h.question.version == version) out.insert(h.question.executor);
  }
  auto it = released_.find(version);
  if (it != released_.end()) {
    for (const auto& [executor, at] : it->second) {
      if (now - at < leaving_for_) out.insert(executor);
    }
  }
  return out;
}

std::vector<std::pair<HoldBoard::Done, HttpResponse>> HoldBoard::DecideAll(const ReportCache::Result& result,
                                                                           Clock::time_point now) {
  std::vector<std::pair<Done, HttpResponse>> answers;
  const CachedReport* cached = result.report.get();
  const std::string error = result.error ? result.error->what() : std::string("no report");
  // query_duration is whole milliseconds: one more keeps a read that began just before the
  // holder arrived from counting as after it.
  const auto read_started =
      cached ? cached->fetched_at - cached->query_duration - std::chrono::milliseconds(1) : Clock::time_point{};
  std::map<std::string, std::set<std::string>> leaving;  // per version, computed once per pass
  for (auto it = holders_.begin(); it != holders_.end();) {
    Holder& h = it->second;
    auto l = leaving.find(h.question.version);
    if (l == leaving.end()) l = leaving.emplace(h.question.version, Leaving(h.question.version, now)).first;
    const HoldDecision d = DecideHold(h.question, cached ? &cached->report : nullptr, error,
                                      cached && read_started >= h.arrived, l->second);
    const bool bound_passed = now >= h.deadline;
    if (d.release || bound_passed) {
      if (d.release) released_[h.question.version][h.question.executor] = now;
      answers.emplace_back(std::move(h.done), HoldResponse(h.question, d, bound_passed && !d.release, cached));
      it = holders_.erase(it);
    } else {
      ++it;
    }
  }
  // Forget releases older than leaving_for.
  for (auto v = released_.begin(); v != released_.end();) {
    for (auto e = v->second.begin(); e != v->second.end();) e = now - e->second >= leaving_for_ ? v->second.erase(e) : std::next(e);
    v = v->second.empty() ? released_.erase(v) : std::next(v);
  }
  return answers;
}

void HoldBoard::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !holders_.empty(); });
    if (stopping_) return;
    lock.unlock();
    // Fresh: from memory. Stale: one read for everyone (single flight), waited for here.
    const ReportCache::Result result = cache_.Get();
    lock.lock();
    if (stopping_) return;
    woken_ = false;
    const auto now = Clock::now();
    auto answers = DecideAll(result, now);
    // Next pass: when the report is due for a refresh (else soon: the cache backs off after a
    // failure), or at the earliest bound.
    auto wake = now + std::chrono::milliseconds(250);
    if (result.report) {
      wake = std::max(wake, result.report->fetched_at + result.report->refresh_interval);
    }
    for (const auto& [id, h] : holders_) wake = std::min(wake, h.deadline);
    planned_wake_ = wake;
    lock.unlock();
    for (auto& [done, response] : answers) done(std::move(response));
    lock.lock();
    cv_.wait_until(lock, wake, [&] { return woken_ || stopping_; });
  }
}

}  // namespace dbos_drain
