// Fuzzes the front listener's request parsing (plugin/front_answer.h), the first code that reads
// a client's bytes: any bytes must parse without a crash; a request it takes must be exactly the
// plain GET it promises (origin-form target, no body, consumed bytes within the input), and its
// answer must be well formed.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "front_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const dbos_drain::FrontHead h = dbos_drain::ParseFrontHead(input);
  if (h.kind != dbos_drain::FrontHead::Kind::kRequest) return 0;
  if (h.request.method != "GET" || !h.request.body.empty()) std::abort();
  if (h.request.target.empty() || h.request.target.front() != '/') std::abort();
  if (h.consumed == 0 || h.consumed > size) std::abort();
  // What is left is the next request: parsing it must not crash either.
  (void)dbos_drain::ParseFrontHead(input.substr(h.consumed));
  dbos_drain::HttpResponse r;
  r.body = h.request.target;
  const std::string bytes = dbos_drain::FormatFrontResponse(r, !h.keep_alive);
  if (bytes.rfind("HTTP/1.1 200 OK\r\n", 0) != 0) std::abort();
  return 0;
}
