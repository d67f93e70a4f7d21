// One log line per event on stderr: JSON lines by default (for log pipelines), or text for
// people. Field values are escaped (names from requests and the database may hold quotes,
// newlines or invalid UTF-8). Thread-safe.
#pragma once

#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace dbos_drain {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

class Logger {
 public:
  enum class Format { kJson, kText };

  Logger(Format format, LogLevel level) : format_(format), level_(level) {}

  // Parses "json"/"text" and "debug"/"info"/"warn"/"error"; false when unknown.
  static bool ParseFormat(const std::string& s, Format& out);
  static bool ParseLevel(const std::string& s, LogLevel& out);

  void Log(LogLevel level, const std::string& message, const nlohmann::json& fields = nlohmann::json::object());
  void Info(const std::string& m, const nlohmann::json& f = nlohmann::json::object()) { Log(LogLevel::kInfo, m, f); }
  void Warn(const std::string& m, const nlohmann::json& f = nlohmann::json::object()) { Log(LogLevel::kWarn, m, f); }
  void Error(const std::string& m, const nlohmann::json& f = nlohmann::json::object()) { Log(LogLevel::kError, m, f); }
  bool Enabled(LogLevel level) const { return level >= level_; }

 private:
  std::mutex mu_;
  Format format_;
  LogLevel level_;
};

}  // namespace dbos_drain
