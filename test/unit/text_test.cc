// The shared text helpers: Trim and UTF-8 validity (core/text.h), the one line escaper in its
// three styles and the timestamp (encode/text_format.h), and the token compare (serve/auth_token.h).
#include <catch2/catch.hpp>

#include "auth_token.h"
#include "text.h"
#include "text_format.h"

using namespace dbos_drain;

TEST_CASE("text: Trim removes the given characters at both ends only", "[text]") {
  CHECK(Trim("  a b \t\r\n\f\v") == "a b");
  CHECK(Trim("\n\t ") == "");
  CHECK(Trim("") == "");
  CHECK(Trim(" \tv1\n", " \t") == "v1\n");  // Flagger's fields: spaces and tabs only
  CHECK(Trim("xxaxx", "x") == "a");
}

TEST_CASE("text: UTF-8 sequence lengths", "[text]") {
  CHECK(Utf8SequenceLength("a", 0) == 1);
  CHECK(Utf8SequenceLength("\xc3\xa9", 0) == 2);
  CHECK(Utf8SequenceLength("\xe6\x97\xa5", 0) == 3);
  CHECK(Utf8SequenceLength("\xf0\x9f\x98\x80", 0) == 4);
  CHECK(Utf8SequenceLength("\xf4\x8f\xbf\xbf", 0) == 4);  // U+10FFFF
  for (std::string bad : {"\x80", "\xc3", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf0\x80\x80\xaf",
                          "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xe6\x97"}) {
    INFO(bad.size());
    CHECK(Utf8SequenceLength(bad, 0) == 0);
    CHECK_FALSE(IsValidUtf8(bad));
  }
  CHECK(IsValidUtf8(std::string("a\0b", 3)));  // NUL is valid UTF-8 (names.h refuses it separately)
}

TEST_CASE("text: one escaper, three styles", "[text]") {
  const std::string hostile = std::string("a\\b\"c\nd\re\tf\x01g\x7f") + "h\xc2\x85i\xe2\x80\xa8j\xff" + "k";
  CHECK(EscapeLine(hostile, LineStyle::kMessage) ==
        "a\\\\b\"c\\nd\\re\\tf\\x01g\\x7fh\\u0085i\\u2028j\xffk");
  CHECK(EscapeLine(hostile, LineStyle::kPrometheusLabel) ==
        "a\\\\b\\\"c\\nd\re\tf\x01g\x7fh\xc2\x85i\xe2\x80\xa8j\xef\xbf\xbdk");
  CHECK(EscapeLine(hostile, LineStyle::kTableCell) == "a\\b\"c?d?e?f?g?h\xc2\x85i\xe2\x80\xa8j\xffk");
  for (auto style : {LineStyle::kMessage, LineStyle::kPrometheusLabel, LineStyle::kTableCell}) {
    CHECK(EscapeLine("plain ü → 日本 \xf0\x9f\x98\x80", style) == "plain ü → 日本 \xf0\x9f\x98\x80");
    CHECK(EscapeLine(hostile, style).find('\n') == std::string::npos);
  }
  CHECK(OneLine("x\u2029y") == "x\\u2029y");
  // A truncated sequence at the end is kept as bytes in a message, replaced in a label.
  CHECK(OneLine("\xe2\x80") == "\xe2\x80");
  CHECK(EscapeLine("\xe2\x80", LineStyle::kPrometheusLabel) == "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_CASE("text: RFC 3339 timestamps in UTC with milliseconds", "[text]") {
  CHECK(FormatTimestamp(1795677703560) == "2026-11-26T07:21:43.560Z");
  CHECK(FormatTimestamp(-1) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("text: the bearer token compare", "[text][auth]") {
  CHECK(ConstantTimeEquals("secret", "secret"));
  CHECK(ConstantTimeEquals("", ""));
  CHECK_FALSE(ConstantTimeEquals("secret", "secreT"));
  CHECK_FALSE(ConstantTimeEquals("secret", "secret2"));
  CHECK_FALSE(ConstantTimeEquals("", "x"));
  CHECK_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}
