#include "logger.h"

#include <chrono>
#include <cstdio>

#include "report_json.h"

namespace dbos_drain {

bool Logger::ParseFormat(const std::string& s, Format& out) {
  if (s == "json") out = Format::kJson;
  else if (s == "text") out = Format::kText;
  else return false;
  return true;
}

bool Logger::ParseLevel(const std::string& s, LogLevel& out) {
  if (s == "debug") out = LogLevel::kDebug;
  else if (s == "info") out = LogLevel::kInfo;
  else if (s == "warn") out = LogLevel::kWarn;
  else if (s == "error") out = LogLevel::kError;
  else return false;
  return true;
}

void Logger::Log(LogLevel level, const std::string& message, const nlohmann::json& fields) {
  if (!Enabled(level)) return;
  static const char* kNames[] = {"debug", "info", "warn", "error"};
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  std::string line;
  if (format_ == Format::kJson) {
    nlohmann::json doc{{"time", FormatTimestamp(now_ms)}, {"level", kNames[static_cast<int>(level)]}, {"msg", message}};
    for (auto it = fields.begin(); it != fields.end(); ++it) doc[it.key()] = it.value();
    line = DumpJson(doc);
  } else {
    line = FormatTimestamp(now_ms) + " " + kNames[static_cast<int>(level)] + " " + message;
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      // Strings are JSON-quoted so a newline in a value cannot forge a log line.
      line += " " + it.key() + "=" + DumpJson(it.value());
    }
  }
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace dbos_drain
