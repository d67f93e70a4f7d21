#include "auth_token.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>

#include "drain_error.h"
#include "text.h"

namespace dbos_drain {
namespace {

std::string TrimToken(const std::string& s) { return Trim(s, " \t\r\n"); }

long long NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  // The length is not secret enough to matter; the bytes are compared in constant time.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

AuthToken::AuthToken(std::string path) : path_(std::move(path)) {
  ReloadIfChanged();
  if (token_.empty()) throw DrainError(ErrorCode::kConfig, "--auth-token-file " + path_ + " is missing or empty");
}

void AuthToken::ReloadIfChanged() {
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) return;  // keep the last token while a Secret is being swapped
  long long mtime = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  // A Kubernetes Secret rotates by swapping a symlink to a new file: a new inode, maybe with the
  // same size and (on coarse clocks) the same mtime. Any of the three changing means re-read.
  const unsigned long long inode = static_cast<unsigned long long>(st.st_ino);
  const unsigned long long device = static_cast<unsigned long long>(st.st_dev);
  if (mtime == mtime_ns_ && st.st_size == size_ && inode == inode_ && device == device_) return;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return;
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string token = TrimToken(buf.str());
  if (token.empty()) return;
  token_ = token;
  mtime_ns_ = mtime;
  size_ = st.st_size;
  inode_ = inode;
  device_ = device;
}

bool AuthToken::Check(const std::string& header) {
  std::lock_guard<std::mutex> lock(mu_);
  // stat() at most every 500 ms: cheap under load, quick enough for rotation.
  long long now = NowMs();
  if (now - last_check_ms_ >= 500) {
    last_check_ms_ = now;
    ReloadIfChanged();
  }
  // "Bearer <token>"; the scheme is case-insensitive (RFC 9110 11.1), spaces around the token are
  // not part of it.
  static const std::string kScheme = "bearer";
  if (header.size() <= kScheme.size() + 1) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  }
  if (header[kScheme.size()] != ' ') return false;
  return ConstantTimeEquals(TrimToken(header.substr(kScheme.size() + 1)), token_);
}

}  // namespace dbos_drain
