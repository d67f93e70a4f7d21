// For the tests of SQL text (report_query_test.cc, retire_query_test.cc): how often a piece of
// text stands in a statement.
#pragma once

#include <cstddef>
#include <string>

namespace dbos_drain::unit {

// Non-overlapping occurrences of `needle` in `haystack`.
inline size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + needle.size())) ++n;
  return n;
}

}  // namespace dbos_drain::unit
