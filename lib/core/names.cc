#include "names.h"

namespace dbos_drain {

bool IsValidUtf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) { ++i; continue; }
    size_t len;
    unsigned int cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::string CheckName(const std::string& name, const char* what) {
  if (name.empty()) return std::string(what) + " name is empty";
  if (name.size() > kMaxNameBytes) {
    return std::string(what) + " name is " + std::to_string(name.size()) + " bytes; at most " +
           std::to_string(kMaxNameBytes) + " are allowed";
  }
  if (name.find('\0') != std::string::npos) return std::string(what) + " name contains a NUL byte";
  if (!IsValidUtf8(name)) return std::string(what) + " name is not valid UTF-8";
  return "";
}

}  // namespace dbos_drain
