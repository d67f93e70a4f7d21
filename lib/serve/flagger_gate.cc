#include "flagger_gate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "names.h"
#include "text.h"
#include "report_json.h"

namespace dbos_drain {
namespace {

using nlohmann::json;

GateError Error(int status, const char* code, std::string message) { return GateError{status, code, std::move(message)}; }

// Flagger's fields are trimmed of spaces and tabs only.
std::string TrimBlanks(const std::string& s) { return Trim(s, " \t"); }

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A value from the request quoted for a message, on one line and not too long.
std::string Quote(const std::string& s) {
  std::string shown = s.size() > 80 ? s.substr(0, 80) + "..." : s;
  return "\"" + OneLine(shown) + "\"";
}

// nlohmann's parse error text without its "[json.exception.parse_error.101] " prefix.
std::string ParseErrorText(const std::string& what) {
  auto p = what.find("] ");
  return OneLine(p == std::string::npos ? what : what.substr(p + 2));
}

std::optional<GateError> StringField(const json& doc, const char* key, std::string& out) {
  auto it = doc.find(key);
  if (it == doc.end()) return std::nullopt;
  if (!it->is_string()) {
    return Error(400, "bad_request", std::string("\"") + key + "\" must be a string, got " + it->type_name());
  }
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<GateError> ParseVersions(const std::string& text, std::vector<std::string>& out) {
  if (TrimBlanks(text).empty()) {
    return Error(400, "bad_request",
                 "metadata.version is empty: name the version(s) that must drain, comma-separated, or omit "
                 "it to check every version but the latest");
  }
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string item = TrimBlanks(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (item.empty()) {
      return Error(400, "bad_request", "metadata.version " + Quote(text) + " has an empty entry (a stray comma?)");
    }
    if (auto why = CheckName(item, "version"); !why.empty()) {
      return Error(400, "bad_request", "metadata.version: " + OneLine(why));
    }
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
    if (out.size() > kMaxGateVersions) {
      return Error(400, "bad_request",
                   "metadata.version names more than " + std::to_string(kMaxGateVersions) + " versions");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return std::nullopt;
}

}  // namespace

std::string GatePayload::Canary() const {
  return (namespace_.empty() ? std::string("?") : namespace_) + "/" + (name.empty() ? std::string("?") : name);
}

bool IsJsonContentType(const std::string& content_type) {
  std::string media = Lower(TrimBlanks(content_type.substr(0, content_type.find(';'))));
  return media == "application/json";
}

std::variant<GatePayload, GateError> ParseGateRequest(const std::string& content_type, const std::string& body,
                                                      bool body_too_large) {
  if (body_too_large || body.size() > kMaxGateBodyBytes) {
    return Error(413, "payload_too_large",
                 "the request body is larger than 64 KiB; Flagger's webhook payload is a few hundred bytes");
  }
  if (!IsJsonContentType(content_type)) {
    return Error(415, "unsupported_media_type",
                 "Content-Type must be application/json (Flagger sends it), got " +
                     (content_type.empty() ? std::string("none") : Quote(content_type)));
  }
  if (TrimBlanks(body).empty()) {
    return Error(400, "bad_request", "the request body is empty; expected Flagger's JSON webhook payload");
  }
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::parse_error& e) {
    return Error(400, "bad_request", "the request body is not valid JSON: " + ParseErrorText(e.what()));
  } catch (const json::exception& e) {
    // Valid syntax the parser still cannot hold, such as a number that overflows (1e999999).
    return Error(400, "bad_request", "the request body is not usable JSON: " + ParseErrorText(e.what()));
  }
  if (!doc.is_object()) {
    return Error(400, "bad_request",
                 std::string("the request body must be a JSON object (Flagger's webhook payload), got ") + doc.type_name());
  }
  GatePayload p;
  if (auto e = StringField(doc, "name", p.name)) return *e;
  if (auto e = StringField(doc, "namespace", p.namespace_)) return *e;
  if (auto e = StringField(doc, "phase", p.phase)) return *e;
  if (auto e = StringField(doc, "checksum", p.checksum)) return *e;
  auto meta = doc.find("metadata");
  if (meta != doc.end()) {
    if (!meta->is_object()) {
      return Error(400, "bad_request",
                   std::string("\"metadata\" must be an object of strings, got ") + meta->type_name());
    }
    for (auto it = meta->begin(); it != meta->end(); ++it) {
      if (!it->is_string()) {
        return Error(400, "bad_request",
                     "metadata." + OneLine(it.key()) + " must be a string (Flagger's metadata is a map of strings), got " +
                         it->type_name());
      }
      p.metadata[it.key()] = it->get<std::string>();
    }
  }
  if (auto v = p.metadata.find("version"); v != p.metadata.end()) {
    if (auto e = ParseVersions(v->second, p.versions)) return *e;
  }
  if (auto a = p.metadata.find("application"); a != p.metadata.end()) {
    if (auto why = CheckName(a->second, "application"); !why.empty()) {
      return Error(400, "bad_request", "metadata.application: " + OneLine(why));
    }
    p.application = a->second;
  }
  return p;
}

std::optional<GateError> CheckGateApplication(const GatePayload& payload,
                                              const std::optional<std::string>& server_application) {
  if (!payload.application || payload.application == server_application) return std::nullopt;
  if (server_application) {
    return Error(422, "unprocessable",
                 "metadata.application is " + Quote(*payload.application) + " but this dbos-drain serves application " +
                     Quote(*server_application) + " (--application); point the webhook at the dbos-drain of " +
                     Quote(*payload.application) + " or correct metadata.application");
  }
  return Error(422, "unprocessable",
               "metadata.application is " + Quote(*payload.application) +
                   " but this dbos-drain reads every application in the database (it has no --application); start "
                   "it with --application " + Quote(*payload.application) +
                   ", or remove metadata.application to check versions across all applications");
}

std::variant<GateSelection, GateError> SelectGateVersions(const GatePayload& payload, const Report& report) {
  GateSelection s;
  s.latest = report.latest_version;
  if (!payload.versions.empty()) {
    s.versions = payload.versions;
    return s;
  }
  const std::string table = report.shape.schema + ".application_versions";
  if (!report.shape.has_application_versions) {
    return Error(422, "unprocessable",
                 "metadata.version is required: this system database has no " + OneLine(table) +
                     " table (an older DBOS SDK), so dbos-drain cannot tell the latest version; set metadata.version "
                     "to the version(s) that must drain (the old primary's)");
  }
  if (report.latest_by_application.empty()) {
    return Error(422, "unprocessable",
                 "metadata.version is required: no version is registered in " + OneLine(table) +
                     (report.application ? " for application " + Quote(*report.application) : std::string()) +
                     " yet, so there is no latest version to exclude; set metadata.version to the version(s) that "
                     "must drain");
  }
  s.all_but_latest = true;
  for (const auto& v : report.versions) {
    if (v.latest) continue;  // each application's latest (several may share the database)
    if (!v.listed) {
      ++s.hidden;  // safe to retire by definition (version_listing.h): it cannot hold the promotion
      continue;
    }
    s.versions.push_back(v.version);
  }
  return s;
}

GateAnswer GateBody(const GatePayload& payload, const GateSelection& selection, const GateVerdict& verdict,
                    const Report& report, double age_seconds, GateDetail detail) {
  json versions = json::array();
  json results = json::array();
  for (const auto& v : verdict.versions) {
    versions.push_back(v.version);
    if (detail == GateDetail::kFull) {
      results.push_back(VersionToJson(v, report.as_of_ms));
    } else {
      json blockers = json::array();
      for (const auto& b : v.blockers) blockers.push_back({{"code", b.code}, {"message", b.message}});
      results.push_back({{"version", v.version}, {"safe_to_retire", v.safe_to_retire}, {"blockers", blockers}});
    }
  }
  const std::string summary = OneLine(verdict.summary);
  json doc{{"safe_to_retire", verdict.safe_to_retire},
           {"drained", verdict.drained},
           {"message", summary},
           {"versions", versions},
           {"selection", selection.all_but_latest ? "all_but_latest" : "metadata.version"},
           {"latest_version", selection.latest ? json(*selection.latest) : json(nullptr)},
           {"results", results},
           {"canary", {{"name", payload.name}, {"namespace", payload.namespace_}, {"checksum", payload.checksum}}},
           {"as_of", FormatTimestamp(report.as_of_ms)},
           {"age_seconds", std::round(age_seconds * 1000.0) / 1000.0}};
  if (detail == GateDetail::kFull) doc["application"] = report.application ? json(*report.application) : json(nullptr);
  GateAnswer a;
  if (verdict.safe_to_retire) {
    a.status = 200;
    a.content_type = "application/json";
    a.body = DumpJson(doc);
  } else {
    a.status = 409;
    a.content_type = "text/plain; charset=utf-8";
    a.body = summary + "\n" + DumpJson(doc) + "\n";
  }
  return a;
}

}  // namespace dbos_drain
