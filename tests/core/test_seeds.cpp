// The post-mortems in shared/seeds/, replayed against the runtime. Each test
// is the shape of a bug that hung or leaked the Python implementation (or a
// system like it); here it must end, on time, with nothing left behind.
// (The node-layer versions, with real servers and clients, come with it.)
#include <netaio/core.hpp>

#include <doctest/doctest.h>

#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#endif
#include <csignal>
#include <string>
#include <vector>

#include "support/run.hpp"

using namespace netaio;
using namespace std::chrono_literals;

TEST_CASE("seed 000/001: stop from outside ends a circular wait between children") {
  // The Python hang: stop() waited for connections to drop, the connection
  // handler waited for the client to close, and the client's close waited on
  // the server. Here two children wait on each other forever; stop() cancels
  // both and returns without any of them cooperating.
  event_loop loop({.virtual_time = true});
  async_event server_closed;
  async_event client_closed;
  const long frames_before = live_task_frames();
  auto server_side = [&]() -> task<void> {
    co_await client_closed.wait();
    server_closed.set();
  };
  auto client_side = [&]() -> task<void> {
    co_await server_closed.wait();
    client_closed.set();
  };
  auto body = [&]() -> task<void> {
    task_scope node{loop};
    node.spawn(server_side(), "handle_client");
    node.spawn(client_side(), "client.close");
    co_await sleep_for(1s);
    co_await node.stop(5s);
    CHECK(node.size() == 0);
  };
  loop.run(body());
  CHECK(test::elapsed(loop) == 1s);  // no grace period was needed
  CHECK(live_task_frames() == frames_before);
}

TEST_CASE("seed 002: a timeout handler's background work is owned and joined") {
  // The Python fix spawned async timeout handlers fire-and-forget. Here the
  // handler runs in the node's scope, so stop() cancels and joins it.
  event_loop loop({.virtual_time = true});
  int reconnect_attempts = 0;
  bool handler_cancelled = false;
  auto reconnect_handler = [&]() -> task<void> {
    try {
      for (;;) {
        ++reconnect_attempts;
        co_await sleep_for(100ms);  // retry delay
      }
    } catch (const operation_cancelled&) {
      handler_cancelled = true;
      throw;
    }
  };
  auto request = [&](task_scope& node) -> task<void> {
    auto never = []() -> task<void> { co_await sleep_for(24h); };
    if (!co_await move_on_after(1s, never())) node.spawn(reconnect_handler(), "timeout handler");
  };
  auto body = [&]() -> task<void> {
    task_scope node{loop};
    co_await request(node);
    co_await sleep_for(450ms);
    co_await node.stop();
  };
  loop.run(body());
  CHECK(handler_cancelled);
  CHECK(reconnect_attempts == 5);  // at 1.0, 1.1, 1.2, 1.3, 1.4 s; stopped at 1.45 s
  CHECK(test::elapsed(loop) == 1450ms);
}

TEST_CASE("seed 003: a dispatch tolerates handlers that add and remove entries") {
  // Cancelling a scope walks its children; a child reacting to the
  // cancellation spawns a sibling and cancels another scope's waiters.
  event_loop loop({.virtual_time = true});
  std::vector<std::string> log;
  async_event never;
  auto body = [&]() -> task<void> {
    task_scope scope{loop};
    task_scope other{loop};
    auto late = [&]() -> task<void> {
      log.push_back("late sibling ran");
      co_await sleep_for(1s);  // cancelled: its scope is
    };
    auto reacting = [&]() -> task<void> {
      try {
        co_await never.wait();
      } catch (const operation_cancelled&) {
        scope.spawn(late(), "late");
        other.cancel();
        log.push_back("reacted");
        throw;
      }
    };
    auto waiter = [&]() -> task<void> { co_await never.wait(); };
    for (int i = 0; i < 3; ++i)
      other.spawn(waiter());
    scope.spawn(reacting());
    scope.spawn(waiter());
    co_await sleep_for(1s);
    scope.cancel();
    co_await scope.join();
    co_await other.join();
  };
  loop.run(body());
  CHECK(log == std::vector<std::string>{"reacted", "late sibling ran"});
}

TEST_CASE("seed 003: stop does the cleanup, it does not just set a flag") {
  // The node's stop() only set running = False and left sessions open.
  event_loop loop({.virtual_time = true});
  const long frames_before = live_task_frames();
  int sessions_open = 0;
  auto session = [&]() -> task<void> {
    ++sessions_open;
    struct closer {
      int& open;
      ~closer() { --open; }
    } c{sessions_open};
    co_await sleep_for(24h);
  };
  auto body = [&]() -> task<void> {
    task_scope node{loop};
    for (int i = 0; i < 5; ++i)
      node.spawn(session(), "session");
    co_await sleep_for(1s);
    CHECK(sessions_open == 5);
    co_await node.stop();
    CHECK(sessions_open == 0);
    CHECK(loop.timers().empty());
  };
  loop.run(body());
  CHECK(live_task_frames() == frames_before);
}

TEST_CASE("seed 004: a background queue processor stops with its owner, no test mode") {
  // The Python fix added test_mode to keep the processor from starting. Here
  // the production processor runs in the test and stops on stop().
  event_loop loop({.virtual_time = true});
  async_queue<int> events(8);
  std::vector<int> delivered;
  auto processor = [&]() -> task<void> {
    for (;;)
      delivered.push_back(co_await events.pop());
  };
  auto body = [&]() -> task<void> {
    task_scope notifier{loop};
    notifier.spawn(processor(), "queue processor");
    for (int i = 0; i < 3; ++i)
      co_await events.push(i);
    co_await yield();
    co_await notifier.stop(1s);
  };
  loop.run(body());
  CHECK(delivered == std::vector<int>{0, 1, 2});
  CHECK(test::elapsed(loop) == 0s);
}

#if !defined(NDEBUG)
TEST_CASE("destroying a scope with live children is caught in debug builds") {
#if defined(_WIN32)
  MESSAGE(
      "skipped on Windows: the abort is checked in a fork()ed child, and Windows has no "
      "fork()");
#else
  // Run the violation in a child process and expect it to abort there.
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGABRT, SIG_DFL);  // not doctest's crash handler
    (void)std::freopen("/dev/null", "w", stderr);
    event_loop loop({.virtual_time = true});
    auto body = [&]() -> task<void> {
      auto sleeper = []() -> task<void> { co_await sleep_for(1h); };
      task_scope scope{loop};
      scope.spawn(sleeper());
      co_await yield();
      // Leaving without join: the scope is destroyed with a live child.
    };
    loop.run(body());
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
#endif
}
#endif
