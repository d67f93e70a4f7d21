#include "text_array.h"

namespace dbos_drain {

std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string literal = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    literal += (i ? ",\"" : "\"");
    for (char c : values[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += "}";
  return literal;
}

}  // namespace dbos_drain
