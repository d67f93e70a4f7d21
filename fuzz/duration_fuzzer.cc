// Fuzzes duration parsing: no crash or overflow, and formatting a parsed duration parses back
// to the same value.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "duration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto d = dbos_drain::ParseDuration(input);
  if (!d) return 0;
  if (d->count() < 0) std::abort();
  auto again = dbos_drain::ParseDuration(dbos_drain::FormatDuration(*d));
  if (!again || *again != *d) std::abort();
  (void)dbos_drain::FormatAge(d->count());
  return 0;
}
