// Time measured by tests, on the steady clock.
//
// Contract: Since(t) is the whole milliseconds from `t` to now (never negative for a t taken
// earlier on the same clock).
#pragma once

#include <chrono>

namespace dbos_drain::testing {

inline std::chrono::milliseconds Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace dbos_drain::testing
