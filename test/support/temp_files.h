// Temporary files and directories that a test leaves nothing of, in $TMPDIR (else /tmp).
//
//   TempFile url_file("postgresql://u@h/db\n");   // url_file.path
//   TempDir dir;  dir.Write("token", "s3cret");    // dir.File("token")
//
// Contract: the constructor creates it (a new, uniquely named file holding `content` exactly /
// an empty directory) or throws std::runtime_error; the destructor removes it (a directory with
// everything in it), ignoring errors.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace dbos_drain::testing {

// "$TMPDIR/<prefix>XXXXXX" as a writable template for mkstemp/mkdtemp.
inline std::vector<char> TempTemplate(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  return buf;
}

struct TempFile {
  std::string path;

  explicit TempFile(const std::string& content) {
    std::vector<char> name = TempTemplate("dbos-drain-test.");
    int fd = mkstemp(name.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    path = name.data();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + path);
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

class TempDir {
 public:
  TempDir() {
    std::vector<char> name = TempTemplate("dbos-drain-test.");
    if (!mkdtemp(name.data())) throw std::runtime_error("mkdtemp failed");
    path_ = name.data();
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to File(name), replacing it; throws std::runtime_error on failure.
  void Write(const std::string& name, const std::string& content) const {
    std::ofstream out(File(name), std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + File(name));
  }

 private:
  std::string path_;
};

}  // namespace dbos_drain::testing
