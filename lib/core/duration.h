// Durations as people write them on a command line: "90s", "10m", "2h", "1h30m", "500ms".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace dbos_drain {

// Parses a duration made of one or more <integer><unit> parts (units ms, s, m, h, d).
// Returns nullopt for anything else: a bare number, an unknown unit, overflow, empty input.
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text);

// "2h 5m", "45s", "3d 4h": the two largest non-zero units, for people.
std::string FormatAge(int64_t milliseconds);

// "1h30m", "10s", "1500ms": a duration in the syntax ParseDuration accepts.
std::string FormatDuration(std::chrono::milliseconds duration);

}  // namespace dbos_drain
