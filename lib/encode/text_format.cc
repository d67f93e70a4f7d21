#include "text_format.h"

#include <algorithm>

#include <cstdio>
#include <ctime>

#include "text.h"

namespace dbos_drain {

std::string FormatTimestamp(int64_t epoch_ms) {
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  int ms = static_cast<int>(epoch_ms % 1000);
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

namespace {

// An ASCII control character (C0 or DEL), in `style`.
void Control(std::string& out, unsigned char c, LineStyle style) {
  switch (style) {
    case LineStyle::kTableCell:
      out += '?';
      return;
    case LineStyle::kPrometheusLabel:
      if (c == '\n') out += "\\n";
      else out += static_cast<char>(c);
      return;
    case LineStyle::kMessage:
      if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      }
      return;
  }
}

// The code point of the well-formed `n`-byte sequence at s[i].
unsigned CodePoint(std::string_view s, size_t i, size_t n) {
  static constexpr unsigned char kLeadMask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
  unsigned cp = static_cast<unsigned char>(s[i]) & kLeadMask[n];
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  return cp;
}

}  // namespace

std::string EscapeLine(std::string_view text, LineStyle style) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      Control(out, c, style);
      ++i;
    } else if (c == '\\' && style != LineStyle::kTableCell) {
      out += "\\\\";
      ++i;
    } else if (c == '"' && style == LineStyle::kPrometheusLabel) {
      out += "\\\"";
      ++i;
    } else if (c < 0x80 || style == LineStyle::kTableCell) {
      out += static_cast<char>(c);
      ++i;
    } else {
      const size_t n = Utf8SequenceLength(text, i);
      if (n == 0) {
        // Invalid UTF-8: Prometheus would reject the scrape; a message keeps the byte.
        if (style == LineStyle::kPrometheusLabel) out += "\xef\xbf\xbd";  // U+FFFD
        else out += static_cast<char>(c);
        ++i;
        continue;
      }
      const unsigned cp = CodePoint(text, i, n);
      if (style == LineStyle::kMessage && ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)) {
        // C1 control characters (NEL among them), LINE and PARAGRAPH SEPARATOR.
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", cp);
        out += buf;
      } else {
        out.append(text.data() + i, n);
      }
      i += n;
    }
  }
  return out;
}

std::string AlignColumns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace dbos_drain
