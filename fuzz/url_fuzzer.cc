// Fuzzes database URL parsing and secret redaction: no crash, and whatever libpq takes as the
// password never appears in the printable description nor in an error message.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "database_url.h"
#include "drain_error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string url(reinterpret_cast<const char*>(data), size);
  if (url.find('\0') != std::string::npos) return 0;  // a C string cannot carry it to libpq
  try {
    auto target = dbos_drain::ParseConnectionTarget(url, std::chrono::seconds(5));
    if (target.password.size() >= 4 && target.description.find(target.password) != std::string::npos) std::abort();
    std::string redacted = dbos_drain::RedactSecrets("error near " + url, target.password);
    if (target.password.size() >= 4 && redacted.find(target.password) != std::string::npos) std::abort();
  } catch (const dbos_drain::DrainError& e) {
    if (e.code() != dbos_drain::ErrorCode::kConfig) std::abort();
  }
  return 0;
}
