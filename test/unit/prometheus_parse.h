// A strict reader of Prometheus text format 0.0.4 for tests: it rejects what the format does
// not allow (unknown escapes, unterminated label values, samples outside their family, a family
// split in two) and decodes label values, so a test can compare them with the raw names.
#pragma once

#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace dbos_drain::prom {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // decoded values
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, std::string> helps;
  std::vector<Sample> samples;

  // The samples of `name` whose labels include `match`.
  std::vector<const Sample*> Find(const std::string& name, const std::map<std::string, std::string>& match = {}) const {
    std::vector<const Sample*> out;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (const auto& [k, v] : match) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() ? !v.empty() : it->second != v) ok = false;
      }
      if (ok) out.push_back(&s);
    }
    return out;
  }

  // The value of the one sample of `name` with exactly these labels; nullopt when absent.
  std::optional<double> Value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    std::optional<double> found;
    for (const auto& s : samples) {
      if (s.name == name && s.labels == labels) {
        if (found) throw std::runtime_error("duplicate series " + name);
        found = s.value;
      }
    }
    return found;
  }

  bool HasPrefix(const std::string& prefix) const {
    for (const auto& s : samples) {
      if (s.name.compare(0, prefix.size(), prefix) == 0) return true;
    }
    return false;
  }
};

inline bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

// The family a sample belongs to (histogram suffixes stripped when the family is declared).
inline std::string FamilyOf(const std::string& sample, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s = suffix;
    if (sample.size() > s.size() && sample.compare(sample.size() - s.size(), s.size(), s) == 0) {
      std::string base = sample.substr(0, sample.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return sample;
}

inline Exposition ParseExposition(const std::string& text) {
  Exposition e;
  if (!text.empty() && text.back() != '\n') throw std::runtime_error("the exposition must end with a newline");
  std::string current;             // family of the last line
  std::set<std::string> finished;  // families already left
  std::set<std::string> series;    // name + labels, for duplicates
  size_t pos = 0;
  int line_no = 0;
  auto enter = [&](const std::string& family) {
    if (family == current) return;
    if (finished.count(family)) throw std::runtime_error("family " + family + " is split");
    if (!current.empty()) finished.insert(current);
    current = family;
  };
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    const std::string where = " (line " + std::to_string(line_no) + ": " + line + ")";
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        std::string rest = line.substr(7);
        auto sp = rest.find(' ');
        if (sp == std::string::npos) throw std::runtime_error("bad comment" + where);
        std::string name = rest.substr(0, sp);
        enter(name);
        if (line[2] == 'H') {
          if (e.helps.count(name)) throw std::runtime_error("second HELP" + where);
          e.helps[name] = rest.substr(sp + 1);
        } else {
          if (e.types.count(name)) throw std::runtime_error("second TYPE" + where);
          static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};
          if (!kTypes.count(rest.substr(sp + 1))) throw std::runtime_error("bad type" + where);
          e.types[name] = rest.substr(sp + 1);
        }
      }
      continue;
    }
    Sample s;
    size_t i = 0;
    while (i < line.size() && IsNameChar(line[i], i == 0)) ++i;
    if (i == 0) throw std::runtime_error("bad metric name" + where);
    s.name = line.substr(0, i);
    std::string key = s.name + "{";
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        size_t b = i;
        while (i < line.size() && IsNameChar(line[i], i == b)) ++i;
        if (i == b || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
          throw std::runtime_error("bad label" + where);
        std::string label = line.substr(b, i - b);
        i += 2;
        std::string value;
        while (true) {
          if (i >= line.size()) throw std::runtime_error("unterminated label value" + where);
          char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) throw std::runtime_error("dangling escape" + where);
            char d = line[i++];
            if (d == 'n') value += '\n';
            else if (d == '\\') value += '\\';
            else if (d == '"') value += '"';
            else throw std::runtime_error("unknown escape" + where);
          } else {
            value += c;
          }
        }
        if (s.labels.count(label)) throw std::runtime_error("duplicate label" + where);
        s.labels[label] = value;
        key += label + "=" + value + "\x1f";
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
    if (i >= line.size() || line[i] != ' ') throw std::runtime_error("no value" + where);
    std::string v = line.substr(i + 1);
    if (v == "+Inf") s.value = std::numeric_limits<double>::infinity();
    else if (v == "-Inf") s.value = -std::numeric_limits<double>::infinity();
    else {
      char* end = nullptr;
      s.value = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0') throw std::runtime_error("bad value" + where);
    }
    enter(FamilyOf(s.name, e.types));
    if (!e.types.count(current)) throw std::runtime_error("sample without TYPE" + where);
    if (!series.insert(key).second) throw std::runtime_error("duplicate series" + where);
    e.samples.push_back(std::move(s));
  }
  return e;
}

}  // namespace dbos_drain::prom
