// Starting many threads at the same moment, for the single-flight tests (test/service/).
//
//   std::vector<Reply> replies(50);
//   Stampede callers(replies.size(), [&](size_t i) { replies[i] = Call(i); });
//   callers.Go();    // every thread calls now
//   ...              // e.g. release the lock the calls wait on
//   callers.Join();  // all have returned
//
// Contract:
//  - Gate: Wait() blocks until Open(); after Open() every Wait(), earlier or later, returns.
//  - Stampede(n, body): starts n threads at once, each waiting at a Gate; Go() opens it, so each
//    runs body(i) for its own i in [0, n); Join() waits for all. The destructor does Go() and
//    Join() when the test did not (a failed REQUIRE never leaves a thread behind). `body` must
//    not throw (catch and record inside it).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dbos_drain::testing {

class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class Stampede {
 public:
  Stampede(size_t n, std::function<void(size_t)> body) : body_(std::move(body)) {
    threads_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      threads_.emplace_back([this, i] {
        gate_.Wait();
        body_(i);
      });
    }
  }
  ~Stampede() {
    Go();
    Join();
  }
  Stampede(const Stampede&) = delete;
  Stampede& operator=(const Stampede&) = delete;

  void Go() { gate_.Open(); }
  void Join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::function<void(size_t)> body_;
  Gate gate_;
  std::vector<std::thread> threads_;
};

}  // namespace dbos_drain::testing
