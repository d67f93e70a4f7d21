// Fuzzes the front listener's request reading (plugin/front_answer.h), the first code that reads
// a client's bytes, as a connection feeds it: the first byte picks the size of the pieces the
// rest arrives in; requests follow each other (pipelining), with Content-Length and chunked
// bodies. Any bytes must be read without a crash, and what comes out must keep the contract:
// consumed bytes within the input, bodies within kMaxBodyBytes, no body on GET or HEAD, an
// origin-form target, rejects only as 400, 413 or 431, answers well formed.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "front_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  dbos_drain::RequestReader reader;
  std::string buffered;
  for (std::size_t at = 0; at < input.size(); at += piece) {
    buffered.append(input.substr(at, piece));
    while (!buffered.empty()) {
      const auto step = reader.Put(buffered);
      if (step.consumed > buffered.size()) std::abort();
      buffered.erase(0, step.consumed);
      using Kind = dbos_drain::RequestReader::Step::Kind;
      if (step.kind == Kind::kNeedMore) break;
      if (step.kind == Kind::kReject) {
        const int s = step.reject.status;
        if (s != 400 && s != 413 && s != 431) std::abort();
        if (step.reject.body.find("\"error\"") == std::string::npos) std::abort();
        return 0;  // the connection closes
      }
      const auto& r = step.request;
      if (r.body.size() > dbos_drain::kMaxBodyBytes) std::abort();
      if ((r.method == "GET" || r.method == "HEAD") && !r.body.empty()) std::abort();
      if (r.target.empty() || r.target.front() != '/') std::abort();
      dbos_drain::HttpResponse answer;
      answer.body = r.target;
      if (dbos_drain::FormatFrontResponse(answer, !step.keep_alive).rfind("HTTP/1.1 200 OK\r\n", 0) != 0) std::abort();
      reader.Reset();
    }
  }
  return 0;
}
