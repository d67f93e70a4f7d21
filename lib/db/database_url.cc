#include "database_url.h"

#include <libpq-fe.h>

#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <vector>

#include "drain_error.h"
#include "text.h"

namespace dbos_drain {
namespace {

// Quotes a value for a libpq key=value string.
std::string QuoteConninfoValue(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// What in `url` may be a password, for scrubbing libpq's parse errors: they quote the offending
// token (`invalid percent-encoded token: "pa%zz"`), and a URL that did not parse has no parsed
// password to redact. The userinfo after the first ':' (libpq ends it at the first '@' or '/')
// and every password=VALUE (URL query or key=value string).
std::vector<std::string> PasswordCandidates(const std::string& url) {
  std::vector<std::string> out;
  auto scheme = url.find("://");
  if (scheme != std::string::npos) {
    auto start = scheme + 3;
    auto end = url.find_first_of("@/", start);
    if (end != std::string::npos && url[end] == '@') {
      auto colon = url.find(':', start);
      if (colon != std::string::npos && colon < end) out.push_back(url.substr(colon + 1, end - colon - 1));
    }
  }
  static const std::regex kPasswordValue(R"(password\s*=\s*('(\\.|[^'])*'?|[^&\s]+))", std::regex::icase);
  for (std::sregex_iterator it(url.begin(), url.end(), kPasswordValue), done; it != done; ++it) {
    std::string value = (*it)[1].str();
    out.push_back(value);
    if (value.size() >= 2 && value.front() == '\'') out.push_back(value.substr(1, value.size() - 2));
    if (!value.empty() && value.front() == '\'') out.push_back(value.substr(1));
  }
  return out;
}

// Replaces every run of at least `min_len` characters of `text` that also occurs in `secret`
// with "***": what is left cannot hold a piece of the secret that long.
std::string ScrubOverlaps(const std::string& text, const std::string& secret, std::size_t min_len) {
  if (secret.size() < min_len) return text;
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t longest = 0;
    for (std::size_t len = min_len; i + len <= text.size() && len <= secret.size(); ++len) {
      if (secret.find(text.substr(i, len)) == std::string::npos) break;
      longest = len;
    }
    if (longest > 0) {
      out += "***";
      i += longest;
    } else {
      out += text[i++];
    }
  }
  return out;
}

bool StartsWithScheme(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

}  // namespace

std::string EncodeUserInfo(const std::string& url) {
  if (!StartsWithScheme(url)) return url;
  const std::size_t start = url.find("://") + 3;
  const std::size_t query = url.find('?', start);
  const std::size_t end = query == std::string::npos ? url.size() : query;
  const std::size_t at = url.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < start) return url;
  const std::string userinfo = url.substr(start, at - start);
  if (userinfo.find(':') == std::string::npos || userinfo.find_first_of("@/") == std::string::npos) return url;
  std::string encoded;
  for (char c : userinfo) {
    if (c == '@') encoded += "%40";
    else if (c == '/') encoded += "%2F";
    else encoded += c;
  }
  return url.substr(0, start) + encoded + url.substr(at);
}

std::string ResolveDatabaseUrl(const DatabaseUrlSources& sources) {
  if (sources.flag) {
    std::string url = Trim(*sources.flag);
    if (url.empty()) throw DrainError(ErrorCode::kConfig, "--database-url is empty");
    return url;
  }
  if (sources.file_path) {
    std::ifstream in(*sources.file_path, std::ios::binary);
    if (!in) {
      throw DrainError(ErrorCode::kConfig,
                       "cannot read --database-url-file " + *sources.file_path + ": no such file or not readable");
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    std::string url = Trim(buf.str());
    if (url.empty()) throw DrainError(ErrorCode::kConfig, "--database-url-file " + *sources.file_path + " is empty");
    return url;
  }
  if (sources.env && !Trim(*sources.env).empty()) return Trim(*sources.env);
  throw DrainError(ErrorCode::kConfig,
                   "no database URL: pass --database-url, --database-url-file or set DBOS_SYSTEM_DATABASE_URL");
}

ConnectionTarget ParseConnectionTarget(const std::string& given_url, std::chrono::milliseconds connect_timeout) {
  const std::string url = EncodeUserInfo(given_url);
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(url.c_str(), &err),
                                                                        &PQconninfoFree);
  if (!options) {
    std::string message = err ? Trim(err) : "out of memory";
    if (err) PQfreemem(err);
    // libpq's message quotes the offending part of the URL; scrub anything password-like.
    for (const auto& candidate : PasswordCandidates(url)) message = RedactSecrets(message, candidate);
    throw DrainError(ErrorCode::kConfig, "invalid database URL: " + RedactSecrets(message, ""));
  }
  ConnectionTarget target;
  std::string host, port, dbname, user, hostaddr;
  bool has_timeout = false, has_app_name = false;
  std::string conninfo;
  for (auto* o = options.get(); o->keyword; ++o) {
    if (!o->val) continue;
    std::string key = o->keyword, val = o->val;
    if (key == "password") target.password = val;
    if (key == "host") host = val;
    if (key == "hostaddr") hostaddr = val;
    if (key == "port") port = val;
    if (key == "dbname") dbname = val;
    if (key == "user") user = val;
    if (key == "connect_timeout") has_timeout = true;
    if (key == "application_name") has_app_name = true;
    conninfo += key + "=" + QuoteConninfoValue(val) + " ";
  }
  if (!has_timeout) {
    // libpq takes whole seconds; at least 1 (0 would mean "wait forever").
    auto secs = std::max<long long>(1, (connect_timeout.count() + 999) / 1000);
    conninfo += "connect_timeout=" + std::to_string(secs) + " ";
  }
  if (!has_app_name) conninfo += "application_name='dbos-drain' ";
  target.conninfo = conninfo;
  std::string where = host.empty() ? (hostaddr.empty() ? "localhost" : hostaddr) : host;
  target.description = where + ":" + (port.empty() ? "5432" : port) + "/" + (dbname.empty() ? (user.empty() ? "?" : user) : dbname);
  if (!user.empty()) target.description += " as " + user;
  // A host, database or user name can contain the password's text; never print it even then,
  // nor any run of 4 or more of its characters, nor of anything in the URL that may have been
  // meant as a password (whatever libpq made of it).
  target.description = RedactSecrets(target.description, target.password);
  target.description = ScrubOverlaps(target.description, target.password, 4);
  for (const auto& candidate : PasswordCandidates(url)) target.description = ScrubOverlaps(target.description, candidate, 4);
  return target;
}

std::string RedactSecrets(std::string message, const std::string& password) {
  if (!password.empty()) {
    for (auto pos = message.find(password); pos != std::string::npos; pos = message.find(password, pos)) {
      message.replace(pos, password.size(), "***");
      pos += 3;
    }
  }
  static const std::regex kUserInfo(R"(([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@\s]*@)");
  static const std::regex kKeyValue(R"((password\s*=\s*)('(\\.|[^'])*'|\S+))", std::regex::icase);
  message = std::regex_replace(message, kUserInfo, "$1:***@");
  message = std::regex_replace(message, kKeyValue, "$1***");
  return message;
}

}  // namespace dbos_drain
