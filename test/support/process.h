// Running the real dbos-drain binary (or any program) from a test: fork/exec with arguments and
// environment, output captured to files (no pipe can fill up and block the child), exit status,
// a timeout. BackgroundProcess keeps the child running so a test can act on the database, read
// the output so far, send a signal, and then wait; HTTP tests start `dbos-drain serve` with it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dbos_drain::testing {

struct ProcessOptions {
  // Changes to the test's own environment: a value sets the variable, nullopt removes it.
  // DBOS_SYSTEM_DATABASE_URL is removed unless set here, so the caller's shell cannot leak in.
  std::map<std::string, std::optional<std::string>> env;
  std::chrono::milliseconds timeout{30000};  // RunProcess/Wait kill the child after this long
  std::string stdin_data;                    // written to the child's stdin (empty: /dev/null)
};

struct ProcessResult {
  int exit_code = -1;  // -1 when the process ended by a signal or timed out
  int term_signal = 0; // the signal that ended it, 0 when it exited
  bool timed_out = false;
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};

  // "exit 2 after 35 ms\n--- stdout ---\n...\n--- stderr ---\n...": for assertion messages.
  std::string Describe() const;
};

class BackgroundProcess {
 public:
  // Starts argv[0] (a path, or a name looked up in PATH) with the arguments. Throws
  // std::runtime_error when it cannot be started.
  explicit BackgroundProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});
  ~BackgroundProcess();  // SIGKILLs and reaps the child when it still runs
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();  // false once it exited (reaps it)
  void Signal(int sig);

  // Waits for the child to end; after `timeout` it is SIGKILLed and the result says timed_out.
  ProcessResult Wait(std::chrono::milliseconds timeout);
  ProcessResult Wait() { return Wait(options_.timeout); }

  std::string StdoutSoFar() const;
  std::string StderrSoFar() const;
  // Polls until stdout (or stderr) contains `needle`, or the child ends, or `timeout` passes.
  bool WaitForOutput(const std::string& needle, std::chrono::milliseconds timeout, bool on_stderr = false);

 private:
  bool Reap(bool block);
  ProcessResult Collect();

  ProcessOptions options_;
  std::string command_;
  std::string dir_;  // temporary directory holding stdout/stderr/stdin files
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  bool timed_out_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point ended_;
};

// Runs a program to completion (or until options.timeout) and returns what it did.
ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// The dbos-drain binary under test: $DBOS_DRAIN_BIN, else the path the build compiled in.
std::string DrainBinary();

// RunProcess with the dbos-drain binary prepended to `args`.
ProcessResult RunDrain(const std::vector<std::string>& args, const ProcessOptions& options = {});

// A loopback TCP port nobody listens on right now (bound to port 0 and released).
int FreeLoopbackPort();

// True once something accepts TCP connections on 127.0.0.1:port, false after `timeout`.
bool WaitForTcpPort(int port, std::chrono::milliseconds timeout);

// Open descriptors of process `pid` (from /proc/PID/fd); -1 when it cannot be read.
int OpenFds(pid_t pid);

// Resident set size of process `pid` in KiB (VmRSS of /proc/PID/status); -1 when it cannot be read.
long RssKb(pid_t pid);

// Polls `condition` every `poll` until it is true (returns true) or `timeout` passes (false).
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(20));

}  // namespace dbos_drain::testing
