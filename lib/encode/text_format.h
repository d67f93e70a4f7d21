// The one place where text is made safe to print on one line, and where timestamps are written.
// Every encoder and every message that quotes a name from a request or the database uses these
// (names may hold quotes, newlines, control characters or invalid UTF-8).
#pragma once

#include <cstdint>
#include <string>
#include <vector>
#include <string_view>

namespace dbos_drain {

// RFC 3339 UTC with milliseconds: "2026-11-26T08:01:43.560Z".
std::string FormatTimestamp(int64_t epoch_ms);

// Where an escaped line goes; each keeps a name on one line in its own syntax.
enum class LineStyle {
  // Messages and logs (Flagger's summary line, error messages): CR, LF, tab and other control
  // characters (C0, DEL, C1, U+2028/9) become escapes (\n, \r, \t, \xHH, \uHHHH; a backslash is
  // \\). Everything else, invalid UTF-8 included, is kept.
  kMessage,
  // A Prometheus label value (exposition format 0.0.4): '\\', '"' and LF escaped, the only
  // escapes that format has; invalid UTF-8 replaced by U+FFFD, one per bad byte.
  kPrometheusLabel,
  // A cell of the status table: C0 control characters and DEL become '?'.
  kTableCell,
};

std::string EscapeLine(std::string_view text, LineStyle style);

// EscapeLine(text, LineStyle::kMessage).
inline std::string OneLine(std::string_view text) { return EscapeLine(text, LineStyle::kMessage); }

// Rows of cells as text columns: each column as wide as its widest cell, two spaces between
// columns, no padding after the last, one line per row (the status and patches tables).
std::string AlignColumns(const std::vector<std::vector<std::string>>& rows);

}  // namespace dbos_drain
