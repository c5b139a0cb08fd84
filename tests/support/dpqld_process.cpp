#include "tests/support/dpqld_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "tests/support/pg.h"

namespace dpql {
namespace {

// `text` as a double-quoted YAML scalar (test paths and libpq URLs: no
// control characters).
std::string YamlQuote(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

// Finds the line "dpqld listening on http(s)://127.0.0.1:PORT\n" in `text`.
bool FindListeningLine(const std::string& text, std::string* scheme, uint16_t* port) {
  static const std::string kPrefix = "dpqld listening on ";
  static const std::string kHost = "://127.0.0.1:";
  for (size_t at = text.find(kPrefix); at != std::string::npos; at = text.find(kPrefix, at + 1)) {
    size_t next = at + kPrefix.size();
    const std::string found = text.compare(next, 5, "https") == 0  ? "https"
                              : text.compare(next, 4, "http") == 0 ? "http"
                                                                   : "";
    if (found.empty()) continue;
    next += found.size();
    if (text.compare(next, kHost.size(), kHost) != 0) continue;
    next += kHost.size();
    size_t end = next;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end == next || end - next > 5 || end >= text.size() || text[end] != '\n') continue;
    *scheme = found;
    *port = static_cast<uint16_t>(std::stoi(text.substr(next, end - next)));
    return true;
  }
  return false;
}

}  // namespace

uint16_t DpqldProcess::pg_port() const {
  static const std::string kPrefix = "dpqld PostgreSQL protocol on 127.0.0.1:";
  size_t at = stdout_text_.find(kPrefix);
  if (at == std::string::npos) return 0;
  size_t next = at + kPrefix.size(), end = next;
  while (end < stdout_text_.size() && std::isdigit(static_cast<unsigned char>(stdout_text_[end]))) ++end;
  if (end == next || end - next > 5) return 0;
  return static_cast<uint16_t>(std::stoi(stdout_text_.substr(next, end - next)));
}

std::string DpqldConfigBase(const std::string& database, const std::string& catalog) {
  return "database: " + YamlQuote(database) + "\ncatalog: " + YamlQuote(catalog) + "\n";
}

DpqldProcess::DpqldProcess(DpqldOptions options) : options_(std::move(options)) {
  // Everything the child needs is built before fork(): the tests fork from
  // processes with client threads running.
  const std::string bin = BinDir() + "/dpqld";
  // The PostgreSQL front end on a free port too: a config's own `listen_pg`
  // (the demo's 5433) would collide between tests running side by side.
  std::vector<std::string> args = {bin,      "serve",       "--config",   options_.config,
                                   "--listen", "127.0.0.1:0", "--listen-pg", "127.0.0.1:0"};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int log_flags = O_WRONLY | O_CREAT | (options_.append_log ? O_APPEND : O_TRUNC);

  int out[2];
  if (pipe(out) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    int log = open(options_.log_path.c_str(), log_flags, 0644);
    dup2(log, STDERR_FILENO);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    close(out[0]);
    close(out[1]);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  if (pid_ < 0) {
    close(out[0]);
    stdout_text_ = "fork failed";
    return;
  }
  stdout_fd_ = out[0];
  WaitUntilListening(options_.start_timeout);
}

void DpqldProcess::WaitUntilListening(std::chrono::seconds timeout) {
  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fd{stdout_fd_, POLLIN, 0};
    if (poll(&fd, 1, 200) <= 0) continue;
    char chunk[256];
    ssize_t n = read(stdout_fd_, chunk, sizeof chunk);
    if (n <= 0) break;  // the process exited
    seen.append(chunk, static_cast<size_t>(n));
    if (FindListeningLine(seen, &scheme_, &port_)) break;
  }
  stdout_text_ = seen;
}

DpqldProcess::~DpqldProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

std::string DpqldProcess::url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }

std::string DpqldProcess::log() const {
  std::ifstream in(options_.log_path);
  std::stringstream text;
  text << in.rdbuf();
  return "stdout: " + stdout_text_ + "\nstderr: " + text.str();
}

void DpqldProcess::Signal(int signal) {
  if (pid_ > 0 && !exited_) kill(pid_, signal);
}

int DpqldProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0 || exited_) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

int DpqldProcess::Stop(std::chrono::milliseconds timeout) {
  Signal(SIGTERM);
  return Wait(timeout);
}

void DpqldProcess::KillHard() {
  if (pid_ <= 0 || exited_) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  exited_ = true;
}

bool DpqldProcess::Alive() {
  if (pid_ <= 0 || exited_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) exited_ = true;
  return !exited_;
}

}  // namespace dpql
