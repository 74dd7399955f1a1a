// Helpers for the netaio command's tests: running the built program as a
// subprocess (stdin given, stdout, stderr and exit code captured), and a
// one-connection TCP server on its own thread and io_context for the
// commands that talk.
#pragma once

#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/node/framed_stream.hpp>
#include <netaio/wire.hpp>

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace cli_test {

/// What a run of the program gave.
struct result {
  int code = -1;  ///< exit code, or 128 + signal
  std::string out;
  std::string err;
  /// stderr's lines.
  std::vector<std::string> err_lines() const {
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (at < err.size()) {
      const auto nl = err.find('\n', at);
      if (nl == std::string::npos) {
        lines.push_back(err.substr(at));
        break;
      }
      lines.push_back(err.substr(at, nl - at));
      at = nl + 1;
    }
    return lines;
  }
};

/// Runs `program args...` with `input` on stdin and the environment without
/// any NETAIO_* variable, plus `env`. Waits for it to exit.
inline result run_program(const std::string& program, const std::vector<std::string>& args,
                          const std::string& input = {},
                          const std::map<std::string, std::string>& env = {}) {
  int in[2], out[2], err[2];
  REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);

  std::vector<std::string> argv_s{program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "NETAIO_", 7) != 0) env_s.emplace_back(*e);
  for (const auto& [k, v] : env)
    env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  REQUIRE_MESSAGE(rc == 0, "cannot run " << program << ": " << std::strerror(rc));

  // Feed stdin and drain both outputs together, so that no pipe fills up.
  result r;
  std::size_t written = 0;
  int in_fd = in[1];
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  bool out_open = true, err_open = true;
  while (out_open || err_open || in_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out_open) fds[n++] = {out[0], POLLIN, 0};
    if (err_open) fds[n++] = {err[0], POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (::poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      FAIL("poll: " << std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        const ssize_t w = ::write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        if (w < 0 || written == input.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      char buf[4096];
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      std::string& into = fds[i].fd == out[0] ? r.out : r.err;
      bool& open = fds[i].fd == out[0] ? out_open : err_open;
      if (got > 0) {
        into.append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        open = false;
      }
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

/// A program left running (netaio serve, netaio subscribe): its stdout is
/// read line by line; stderr is kept for the failure message. Destroying it
/// kills a program still running.
class background {
 public:
  /// Runs `program args...` with the environment without any NETAIO_*
  /// variable, plus `env`.
  background(const std::string& program, const std::vector<std::string>& args,
             const std::map<std::string, std::string>& env = {}) {
    int out[2], err[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    std::vector<std::string> argv_s{program};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e)
      if (std::strncmp(*e, "NETAIO_", 7) != 0) env_s.emplace_back(*e);
    for (const auto& [k, v] : env)
      env_s.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_s)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, program.c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
    REQUIRE_MESSAGE(rc == 0, "cannot run " << program << ": " << std::strerror(rc));
  }
  background(const background&) = delete;
  background& operator=(const background&) = delete;
  ~background() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)wait();
    }
    ::close(out_);
    ::close(err_);
  }

  /// The next line on stdout (without its newline), or nullopt if none
  /// came within `limit`; an empty line at end of output.
  std::optional<std::string> try_line(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (const auto nl = buffered_.find('\n'); nl != std::string::npos) {
        std::string line = buffered_.substr(0, nl);
        buffered_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t got = ::read(out_, buf, sizeof buf);
      if (got <= 0) return std::string();
      buffered_.append(buf, static_cast<std::size_t>(got));
    }
  }
  /// The next line; fails the test if none comes within `limit` (a bound
  /// against a hang, never what makes a test pass).
  std::string next_line(std::chrono::seconds limit = std::chrono::seconds(60)) {
    auto line = try_line(limit);
    REQUIRE_MESSAGE(line.has_value(), "no line from the program in time; stderr: " << drain_err());
    return *line;
  }
  /// The next line starting with `prefix`, skipping others (kept in
  /// `skipped` when given); fails the test if none comes within `limit`.
  std::string line_starting(std::string_view prefix,
                            std::chrono::seconds limit = std::chrono::seconds(60),
                            std::vector<std::string>* skipped = nullptr) {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      auto line = try_line(std::max(left, std::chrono::milliseconds(0)));
      // (An empty line is the end of the output: these programs print none.)
      REQUIRE_MESSAGE((line.has_value() && !line->empty()),
                      "no line starting '" << prefix << "' in time; stderr: " << drain_err());
      if (line->starts_with(prefix)) return *line;
      if (skipped) skipped->push_back(*line);
    }
  }
  void signal(int sig) { ::kill(pid_, sig); }
  /// Waits for the program to end; its exit code, or 128 + signal.
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  /// The exit code (or 128 + signal) if the program has ended, without waiting.
  std::optional<int> try_wait() {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string drain_err() {
    std::string e;
    char buf[4096];
    pollfd p{err_, POLLIN, 0};
    while (::poll(&p, 1, 0) > 0) {
      const ssize_t got = ::read(err_, buf, sizeof buf);
      if (got <= 0) break;
      e.append(buf, static_cast<std::size_t>(got));
    }
    return e;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string buffered_;
};

/// What the server saw, for the test to check after it stopped.
struct server_log {
  std::vector<netaio::message> received;
  std::string failure;  ///< empty when all went as the script expected
};

/// How the server treats its one connection.
using server_script = std::function<netaio::task<void>(netaio::framed_stream&, server_log&)>;

/// A TCP server on 127.0.0.1 (a free port) that accepts one connection on
/// its own thread and io_context and runs `script` on it. Destroying it
/// joins the thread; a client that never comes is waited for 60 s at most.
class one_shot_server {
 public:
  explicit one_shot_server(server_script script) : script_(std::move(script)) {
    std::promise<std::uint16_t> port;
    auto port_ready = port.get_future();
    thread_ = std::thread([this, p = std::move(port)]() mutable { run(p); });
    port_ = port_ready.get();
  }
  one_shot_server(const one_shot_server&) = delete;
  one_shot_server& operator=(const one_shot_server&) = delete;
  ~one_shot_server() { join(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  /// Waits for the server to finish; then log() is complete.
  const server_log& join() {
    if (thread_.joinable()) thread_.join();
    return log_;
  }

 private:
  void run(std::promise<std::uint16_t>& port) {
    using namespace std::chrono_literals;
    netaio::io_context io;
    auto listener = netaio::tcp_listener::bind(io, netaio::endpoint::parse("127.0.0.1:0"));
    port.set_value(listener.local_endpoint().port());
    try {
      io.run(serve(listener));
    } catch (const std::exception& e) {
      log_.failure = std::string("server: ") + e.what();
    }
  }

  netaio::task<void> serve(netaio::tcp_listener& listener) {
    using namespace std::chrono_literals;
    auto s = co_await netaio::move_on_after(60s, listener.accept());
    if (!s) {
      log_.failure = "server: no client came";
      co_return;
    }
    netaio::framed_stream fs(std::move(*s));
    if (!co_await netaio::move_on_after(60s, script_(fs, log_))) {
      log_.failure = "server: the script did not finish";
    }
  }

  server_script script_;
  server_log log_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

/// Reads one frame into `log` (nullopt, and a failure noted, if none came).
inline netaio::task<std::optional<netaio::message>> read_one(netaio::framed_stream& fs,
                                                             server_log& log) {
  auto r = co_await fs.read_frame();
  if (!r) {
    log.failure = "server: expected a frame";
    co_return std::nullopt;
  }
  log.received.push_back(r.to_message());
  co_return r.to_message();
}

/// Waits until the client closes the connection (reading whatever it sends).
inline netaio::task<void> until_closed(netaio::framed_stream& fs) {
  for (;;) {
    auto r = co_await fs.read_frame();
    if (r.status == netaio::frame_read_status::end_of_stream ||
        r.status == netaio::frame_read_status::truncated ||
        r.status == netaio::frame_read_status::closed)
      co_return;
  }
}

}  // namespace cli_test
