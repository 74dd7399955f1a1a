// Destroying a started, never-stopped tcp_server or tcp_client terminates
// with a message, in every build mode: this file is built twice, as is and
// with -DNDEBUG (where asserts vanish and only real checks remain).
#include "node/tcp_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace tcp_test;

namespace {

struct death {
  bool aborted = false;
  std::string stderr_text;
};

/// Runs `f` in a child process with its stderr captured: whether it ended
/// by SIGABRT (std::terminate, detail::fatal) and what it wrote.
template <class F>
death run_to_death(F f) {
  std::fflush(nullptr);
  int pipefd[2];
  REQUIRE(pipe(pipefd) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGABRT, SIG_DFL);  // not doctest's crash handler
    close(pipefd[0]);
    dup2(pipefd[1], 2);
    close(pipefd[1]);
    f();
    _exit(0);
  }
  close(pipefd[1]);
  death d;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    d.stderr_text.append(buf, static_cast<std::size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  d.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  return d;
}

}  // namespace

TEST_CASE("destroying a started, never-stopped tcp_server terminates with a message") {
  const death d = run_to_death([] {
    io_context io({.virtual_time = true});
    io.run([&]() -> task<void> {
      tcp_server server(io, local_server());
      (void)co_await server.start();
    }());  // the server is destroyed with its accept loop running
  });
  CHECK(d.aborted);
  CHECK(d.stderr_text.find("tcp_server destroyed while running") != std::string::npos);
  CHECK(d.stderr_text.find("stop()") != std::string::npos);
}

TEST_CASE("destroying a connected, never-stopped tcp_client terminates with a message") {
  const death d = run_to_death([] {
    io_context io({.virtual_time = true});
    io.run([&]() -> task<void> {
      tcp_server server(io, local_server());
      const endpoint at = co_await server.start();
      {
        tcp_client client(io, client_for(at));
        co_await client.connect();
      }  // the client is destroyed with its receive loop running
      co_await server.stop();
    }());
  });
  CHECK(d.aborted);
  CHECK(d.stderr_text.find("tcp_client destroyed while running") != std::string::npos);
  CHECK(d.stderr_text.find("tcp_server") == std::string::npos);  // the client's, first
}

TEST_CASE("a stopped server and client are destroyed quietly (the control case)") {
  const death d = run_to_death([] {
    io_context io({.virtual_time = true});
    io.run([&]() -> task<void> {
      tcp_server server(io, local_server());
      tcp_client client(io, client_for(co_await server.start()));
      co_await client.connect();
      co_await client.stop();
      co_await server.stop();
    }());
  });
  CHECK_FALSE(d.aborted);
  CHECK(d.stderr_text.find("destroyed while running") == std::string::npos);
}
