// Optional bearer-token authentication (--auth-token-file). The file is re-read when its
// modification time or size changes, so a rotated Kubernetes Secret takes effect without a
// restart. Comparison is constant-time.
#pragma once

#include <mutex>
#include <string>

namespace dbos_drain {

class AuthToken {
 public:
  // Throws DrainError(kConfig) when the file cannot be read or holds an empty token.
  explicit AuthToken(std::string path);

  // True when `authorization_header` is "Bearer <token>" with the current token.
  bool Check(const std::string& authorization_header);

 private:
  void ReloadIfChanged();

  std::string path_;
  std::mutex mu_;
  std::string token_;
  long long mtime_ns_ = -1;
  long long size_ = -1;
  unsigned long long inode_ = 0;
  unsigned long long device_ = 0;
  long long last_check_ms_ = 0;
};

// Compares in constant time (OpenSSL CRYPTO_memcmp), so timing does not reveal how much of a
// guess was right.
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace dbos_drain
