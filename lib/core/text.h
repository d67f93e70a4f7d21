// Small text helpers every layer uses: trimming and UTF-8 validity. Standard library only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dbos_drain {

// The characters Trim removes unless told otherwise: ASCII whitespace.
inline constexpr std::string_view kWhitespace = " \t\r\n\f\v";

// `s` without the leading and trailing characters in `chars`.
std::string Trim(std::string_view s, std::string_view chars = kWhitespace);

// Length (1..4) of the well-formed UTF-8 sequence starting at s[i], or 0 when there is none
// (a stray continuation byte, a truncated sequence, an overlong form, a surrogate, > U+10FFFF).
// Requires i < s.size().
size_t Utf8SequenceLength(std::string_view s, size_t i);

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates).
bool IsValidUtf8(std::string_view s);

}  // namespace dbos_drain
