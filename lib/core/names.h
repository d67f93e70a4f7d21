// What a version or queue name may be when a user or a request supplies it.
#pragma once

#include <string>

#include "text.h"  // IsValidUtf8

namespace dbos_drain {

inline constexpr size_t kMaxNameBytes = 255;

// Empty string when `name` can be looked up; otherwise why not. A name must be 1..255 bytes of
// valid UTF-8 without NUL (PostgreSQL text cannot hold NUL or invalid UTF-8). Quotes, newlines
// and other unicode are allowed: they are escaped wherever they are printed.
std::string CheckName(const std::string& name, const char* what);

}  // namespace dbos_drain
