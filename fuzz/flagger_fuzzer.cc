// Fuzzes the Flagger payload parser and the gate decision on a fixed report: no crash, every
// refusal is a 4xx with a code and a message, and a parsed payload's versions are valid names.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "flagger_gate.h"
#include "names.h"

namespace {

dbos_drain::Report SampleReport() {
  dbos_drain::Snapshot s;
  s.shape.has_application_versions = true;
  s.as_of_ms = 1'800'000'000'000;
  s.registered = {{"v1", 1, 1}, {"v2", 2, 2}};
  dbos_drain::InFlightGroup g;
  g.version = "v1";
  g.queue = "tasks";
  g.status = dbos_drain::InFlightStatus::kEnqueued;
  g.count = 3;
  g.oldest_created_at_ms = 1'799'999'000'000;
  s.groups.push_back(g);
  return dbos_drain::BuildReport(s, {});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dbos_drain::Report report = SampleReport();
  std::string body(reinterpret_cast<const char*>(data), size);
  auto parsed = dbos_drain::ParseGateRequest("application/json", body, false);
  if (auto* err = std::get_if<dbos_drain::GateError>(&parsed)) {
    if (err->status < 400 || err->status > 499 || err->code.empty() || err->message.empty()) std::abort();
    return 0;
  }
  const auto& payload = std::get<dbos_drain::GatePayload>(parsed);
  for (const auto& v : payload.versions) {
    if (!dbos_drain::CheckName(v, "version").empty()) std::abort();
  }
  if (dbos_drain::CheckGateApplication(payload, std::nullopt)) return 0;
  auto selected = dbos_drain::SelectGateVersions(payload, report);
  if (auto* sel = std::get_if<dbos_drain::GateSelection>(&selected)) {
    auto verdict = dbos_drain::DecideGate(*sel, report, {});
    // The decision (core) keeps names as they are; the answer Flagger gets escapes them. Its
    // first line (the summary of a 409) is one line without control characters.
    auto answer = dbos_drain::GateBody(payload, *sel, verdict, report, 0);
    if (answer.status != 200 && answer.status != 409) std::abort();
    const std::string first = answer.body.substr(0, answer.body.find('\n'));
    for (char c : first) {
      if (static_cast<unsigned char>(c) < 0x20) std::abort();
    }
  }
  return 0;
}
