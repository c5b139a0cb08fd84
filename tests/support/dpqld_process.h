#pragma once

// A real `dpqld serve` child process for the integration tests: started on
// kernel-chosen loopback ports (`--listen 127.0.0.1:0 --listen-pg 127.0.0.1:0`), ready once it prints
// "dpqld listening on http(s)://127.0.0.1:PORT", stopped with SIGTERM or
// killed with SIGKILL. Its stdout (the listening line) is read through a
// pipe; its stderr goes to a log file the test names.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace dpql {

struct DpqldOptions {
  std::string config{};                   // --config (required)
  std::string log_path{};                 // dpqld's stderr (required)
  bool append_log = false;                // append to the log (a restart) instead of truncating it
  std::vector<std::string> extra_args{};  // after `--listen 127.0.0.1:0`, e.g. {"--database", url}
  std::chrono::seconds start_timeout{60};
};

// The two keys every test config starts with: `database` and `catalog`
// (each a double-quoted YAML scalar).
std::string DpqldConfigBase(const std::string& database, const std::string& catalog);

class DpqldProcess {
 public:
  // Starts dpqld and waits up to `start_timeout` for its listening line. On
  // failure `started()` is false and `log()` says why.
  explicit DpqldProcess(DpqldOptions options);
  // Kills the process (SIGKILL) unless it has already exited.
  ~DpqldProcess();
  DpqldProcess(const DpqldProcess&) = delete;
  DpqldProcess& operator=(const DpqldProcess&) = delete;

  bool started() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  const std::string& scheme() const { return scheme_; }  // "http" or "https"
  std::string url() const;                               // "http://127.0.0.1:PORT"
  // The PostgreSQL front end's port, from the line "dpqld PostgreSQL protocol
  // on 127.0.0.1:PORT" printed before the listening line; 0 when none.
  uint16_t pg_port() const;
  pid_t pid() const { return pid_; }

  // What the process printed: stdout up to the listening line, then its log.
  std::string log() const;

  void Signal(int signal);
  // Waits up to `timeout` for the process to exit; returns its exit status
  // (128 + signal if killed), or -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);
  // SIGTERM, then Wait(timeout).
  int Stop(std::chrono::milliseconds timeout);
  // SIGKILL and reap: no handler runs, nothing is flushed, sockets just close.
  void KillHard();
  // Whether the process is still running.
  bool Alive();

 private:
  void WaitUntilListening(std::chrono::seconds timeout);

  DpqldOptions options_;
  std::string stdout_text_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  uint16_t port_ = 0;
  std::string scheme_;
  bool exited_ = false;
};

}  // namespace dpql
