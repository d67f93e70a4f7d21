#include "process.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace dbos_drain::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string MakeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/dbos-drain-proc.XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  return buf.data();
}

std::vector<std::string> BuildEnvironment(const ProcessOptions& options) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env.erase("DBOS_SYSTEM_DATABASE_URL");
  for (const auto& [key, value] : options.env) {
    if (value) {
      env[key] = *value;
    } else {
      env.erase(key);
    }
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::string Quote(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + ("'" + a + "'");
  return out;
}

}  // namespace

std::string ProcessResult::Describe() const {
  std::ostringstream s;
  if (timed_out) {
    s << "TIMED OUT (killed) after " << elapsed.count() << " ms";
  } else if (term_signal) {
    s << "killed by signal " << term_signal << " after " << elapsed.count() << " ms";
  } else {
    s << "exit " << exit_code << " after " << elapsed.count() << " ms";
  }
  s << "\n--- stdout ---\n" << out << "\n--- stderr ---\n" << err << "\n--------------";
  return s.str();
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const ProcessOptions& options)
    : options_(options), command_(Quote(argv)) {
  if (argv.empty()) throw std::runtime_error("BackgroundProcess: empty argv");
  dir_ = MakeTempDir();
  {
    std::ofstream in(dir_ + "/stdin", std::ios::binary);
    in << options.stdin_data;
  }
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
  std::vector<std::string> env = BuildEnvironment(options);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  const std::string in_path = dir_ + "/stdin", out_path = dir_ + "/stdout", err_path = dir_ + "/stderr";
  int in_fd = open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) throw std::runtime_error("cannot open output files in " + dir_);
  // A pipe closed by exec tells the parent whether exec worked.
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const bool search_path = argv[0].find('/') == std::string::npos;

  started_ = Clock::now();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
  if (pid_ == 0) {
    setpgid(0, 0);  // its own process group: a terminal's Ctrl-C goes to the test, not here
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    if (search_path) {
      execvpe(argp[0], argp.data(), envp.data());
    } else {
      execve(argp[0], argp.data(), envp.data());
    }
    int e = errno;
    (void)!write(status_pipe[1], &e, sizeof e);
    _exit(127);
  }
  close(in_fd);
  close(out_fd);
  close(err_fd);
  close(status_pipe[1]);
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(status_pipe[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  close(status_pipe[0]);
  if (n > 0) {
    Reap(true);
    throw std::runtime_error("cannot execute " + command_ + ": " + std::strerror(exec_errno));
  }
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    Reap(true);
  }
  if (!dir_.empty()) {
    for (const char* f : {"/stdin", "/stdout", "/stderr"}) unlink((dir_ + f).c_str());
    rmdir(dir_.c_str());
  }
}

bool BackgroundProcess::Reap(bool block) {
  if (exited_) return true;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exited_ = true;
    status_ = status;
    ended_ = Clock::now();
    return true;
  }
  return false;
}

bool BackgroundProcess::Running() { return !Reap(false); }

void BackgroundProcess::Signal(int sig) {
  if (!exited_) kill(pid_, sig);
}

ProcessResult BackgroundProcess::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!Reap(false)) {
    if (Clock::now() >= deadline) {
      timed_out_ = true;
      kill(pid_, SIGKILL);
      Reap(true);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Collect();
}

ProcessResult BackgroundProcess::Collect() {
  ProcessResult r;
  r.timed_out = timed_out_;
  if (!timed_out_ && WIFEXITED(status_)) r.exit_code = WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) r.term_signal = WTERMSIG(status_);
  r.out = StdoutSoFar();
  r.err = StderrSoFar();
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(ended_ - started_);
  return r;
}

std::string BackgroundProcess::StdoutSoFar() const { return ReadFile(dir_ + "/stdout"); }
std::string BackgroundProcess::StderrSoFar() const { return ReadFile(dir_ + "/stderr"); }

bool BackgroundProcess::WaitForOutput(const std::string& needle, std::chrono::milliseconds timeout, bool on_stderr) {
  return WaitUntil(
      [&] {
        std::string text = on_stderr ? StderrSoFar() : StdoutSoFar();
        if (text.find(needle) != std::string::npos) return true;
        if (!Running()) {  // one last look: the output may have landed just before it exited
          text = on_stderr ? StderrSoFar() : StdoutSoFar();
          if (text.find(needle) != std::string::npos) return true;
          throw std::runtime_error("process ended before printing \"" + needle + "\": " + Collect().Describe());
        }
        return false;
      },
      timeout);
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
  BackgroundProcess p(argv, options);
  return p.Wait(options.timeout);
}

std::string DrainBinary() {
  if (const char* bin = std::getenv("DBOS_DRAIN_BIN"); bin && *bin) return bin;
#ifdef DBOS_DRAIN_BIN_DEFAULT
  return DBOS_DRAIN_BIN_DEFAULT;
#else
  throw std::runtime_error("DBOS_DRAIN_BIN is not set: point it at the dbos-drain binary under test");
#endif
}

ProcessResult RunDrain(const std::vector<std::string>& args, const ProcessOptions& options) {
  std::vector<std::string> argv{DrainBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, options);
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind a loopback port: " + std::string(std::strerror(errno)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool WaitForTcpPort(int port, std::chrono::milliseconds timeout) {
  return WaitUntil(
      [port] {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        close(fd);
        return ok;
      },
      timeout);
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

int OpenFds(pid_t pid) {
  int n = 0;
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  while (readdir(d)) ++n;
  closedir(d);
  return n - 2;  // "." and ".."
}

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace dbos_drain::testing
