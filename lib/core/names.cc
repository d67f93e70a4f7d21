#include "names.h"

namespace dbos_drain {

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
