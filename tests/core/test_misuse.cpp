// Misuse must be a typed error or a terminate with a message in every build
// mode. This file is built twice: as is, and with -DNDEBUG, where asserts
// vanish and only real checks remain.
#include <netaio/core.hpp>

#include <doctest/doctest.h>

#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "support/run.hpp"

using namespace netaio;
using namespace std::chrono_literals;

namespace {

task<int> answer() {
  co_await yield();
  co_return 42;
}

#if defined(_WIN32)
// No fork() on Windows: a terminate check needs a child process that runs
// only the code under test, so these checks are skipped there (they run on
// every POSIX build).
void skip_terminate_check() {
  MESSAGE(
      "skipped on Windows: a terminate check runs the code in a fork()ed child, and "
      "Windows has no fork()");
}
#else
/// How a child process ended.
enum class ending { clean_exit, abort, other };

/// Runs `f` in a child process and says how it ended: exit status 0,
/// SIGABRT (std::terminate), or anything else (a crash, another status).
template <class F>
ending run_forked(F f) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGABRT, SIG_DFL);  // not doctest's crash handler
    (void)std::freopen("/dev/null", "w", stderr);
    f();
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ending::clean_exit;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) return ending::abort;
  return ending::other;
}

/// True if `f` ended its process by SIGABRT (std::terminate).
template <class F>
bool terminates(F f) {
  return run_forked(std::move(f)) == ending::abort;
}
#endif

}  // namespace

TEST_CASE("awaiting a task twice throws invalid_task") {
  auto body = []() -> task<void> {
    task<int> t = answer();
    CHECK(co_await std::move(t) == 42);
    CHECK(!t.valid());
    CHECK_THROWS_AS(co_await std::move(t), invalid_task);
  };
  test::run_virtual(body());
}

TEST_CASE("two tasks awaiting one task: the second gets invalid_task") {
  event_loop loop({.virtual_time = true});
  task<int> shared = answer();
  int first = 0;
  bool second_refused = false;
  auto body = [&]() -> task<void> {
    task_scope s{loop};
    s.spawn([&]() -> task<void> { first = co_await std::move(shared); });
    s.spawn([&]() -> task<void> {
      try {
        (void)co_await std::move(shared);
      } catch (const invalid_task&) {
        second_refused = true;
      }
    });
    co_await s.join();
  };
  loop.run(body());
  CHECK(first == 42);
  CHECK(second_refused);
}

TEST_CASE("spawning an empty, moved-from or already-run task throws invalid_task") {
  auto body = []() -> task<void> {
    task_scope s{co_await this_context()};
    task<int> t = answer();
    task<int> other = std::move(t);
    CHECK_THROWS_AS(s.spawn(std::move(t)), invalid_task);  // moved from
    CHECK_THROWS_AS(s.spawn(task<void>{}), invalid_task);  // default-made
    (void)co_await std::move(other);
    CHECK_THROWS_AS(s.spawn(std::move(other)), invalid_task);  // already ran
    co_await s.join();
  };
  test::run_virtual(body());
}

TEST_CASE("awaiting a moved-from task throws invalid_task") {
  auto body = []() -> task<void> {
    task<int> t = answer();
    task<int> u = std::move(t);
    CHECK_THROWS_AS(co_await std::move(t), invalid_task);
    CHECK(co_await std::move(u) == 42);
    CHECK_THROWS_AS(co_await with_timeout(1s, std::move(t)), invalid_task);
  };
  test::run_virtual(body());
}

TEST_CASE("running an empty task throws invalid_task") {
  event_loop loop;
  CHECK_THROWS_AS(loop.run(task<void>{}), invalid_task);
}

TEST_CASE("destroying a scope with live children terminates, in every build mode") {
#if defined(_WIN32)
  skip_terminate_check();
#else
  CHECK(terminates([] {
    event_loop loop({.virtual_time = true});
    auto body = [&]() -> task<void> {
      task_scope scope{loop};
      scope.spawn([]() -> task<void> { co_await sleep_for(1h); });
      co_await yield();
      // Leaving without join: the scope is destroyed with a live child.
    };
    loop.run(body());
  }));
#endif
}

TEST_CASE("an exception between spawn and stop: with_scope joins, so no terminate") {
#if defined(_WIN32)
  skip_terminate_check();
#else
  const ending how = run_forked([] {
    event_loop loop({.virtual_time = true});
    auto body = []() -> task<void> {
      co_await with_scope([](task_scope& scope) -> task<void> {
        scope.spawn([]() -> task<void> { co_await sleep_for(1h); }, "fetcher");
        co_await sleep_for(1s);
        throw std::runtime_error("between spawn and stop");
      });
    };
    try {
      loop.run(body());
    } catch (const std::runtime_error&) {
    }
  });
  CHECK(how == ending::clean_exit);  // no abort, and no crash either
#endif
}

TEST_CASE("destroying an event or a queue that tasks wait on terminates") {
#if defined(_WIN32)
  skip_terminate_check();
#else
  CHECK(terminates([] {
    event_loop loop({.virtual_time = true});
    auto body = []() -> task<void> {
      auto ev = std::make_unique<async_event>();
      co_await with_scope([&](task_scope& s) -> task<void> {
        s.spawn([&]() -> task<void> { co_await ev->wait(); });
        co_await yield();
        ev.reset();
      });
    };
    loop.run(body());
  }));
#endif
}

TEST_CASE("a nested event_loop::run is refused with an error; the outer run goes on") {
  event_loop loop({.virtual_time = true});
  bool refused = false;
  auto inner = []() -> task<int> { co_return 1; };
  auto body = [&]() -> task<int> {
    try {
      (void)loop.run(inner());
    } catch (const netaio::error&) {
      refused = true;
    }
    co_await sleep_for(1s);
    co_return 2;
  };
  CHECK(loop.run(body()) == 2);
  CHECK(refused);
  CHECK(loop.run(inner()) == 1);  // usable again once the outer run returned
}

TEST_CASE("an async_queue of capacity 0 is refused with std::invalid_argument") {
  CHECK_THROWS_AS(async_queue<int>(0), std::invalid_argument);
  CHECK(async_queue<int>(1).capacity() == 1);
}
