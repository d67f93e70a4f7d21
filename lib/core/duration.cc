#include "duration.h"

#include <limits>

namespace dbos_drain {

std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  int64_t total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    int64_t value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::nullopt;
      value = value * 10 + (text[i] - '0');
      ++i;
    }
    int64_t unit_ms;
    if (text.compare(i, 2, "ms") == 0) {
      unit_ms = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's': unit_ms = 1000; break;
        case 'm': unit_ms = 60'000; break;
        case 'h': unit_ms = 3'600'000; break;
        case 'd': unit_ms = 86'400'000; break;
        default: return std::nullopt;
      }
      ++i;
    } else {
      return std::nullopt;  // a bare number: the unit is required
    }
    if (value > (std::numeric_limits<int64_t>::max() - total_ms) / unit_ms) return std::nullopt;
    total_ms += value * unit_ms;
  }
  return std::chrono::milliseconds(total_ms);
}

std::string FormatAge(int64_t ms) {
  if (ms < 1000) return std::to_string(ms < 0 ? 0 : ms) + "ms";
  int64_t s = ms / 1000;
  const int64_t units[] = {86400, 3600, 60, 1};
  const char* names[] = {"d", "h", "m", "s"};
  std::string out;
  int parts = 0;
  for (int u = 0; u < 4 && parts < 2; ++u) {
    int64_t n = s / units[u];
    if (n == 0 && parts == 0) continue;
    if (n == 0) break;  // "2h" rather than "2h 0m"
    s -= n * units[u];
    out += (parts ? " " : "") + std::to_string(n) + names[u];
    ++parts;
  }
  return out;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  if (s == 0) return "0s";
  std::string out;
  if (s >= 3600) { out += std::to_string(s / 3600) + "h"; s %= 3600; }
  if (s >= 60) { out += std::to_string(s / 60) + "m"; s %= 60; }
  if (s > 0) out += std::to_string(s) + "s";
  return out;
}

}  // namespace dbos_drain
