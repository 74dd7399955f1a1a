#include <netaio/core.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "support/run.hpp"

using namespace netaio;
using namespace std::chrono_literals;

namespace {

task<void> sleep_then_log(std::chrono::seconds d, int id, std::vector<int>& log) {
  co_await sleep_for(d);
  log.push_back(id);
}

task<void> fail_after(std::chrono::seconds d, const char* what) {
  co_await sleep_for(d);
  throw std::runtime_error(what);
}

task<void> sleep_task(std::chrono::seconds d) {
  co_await sleep_for(d);
}

task<void> counted_sleeper(std::chrono::seconds d) {
  test::lifetime_counter c;
  co_await sleep_for(d);
}

// Never finishes on its own: waits on an event nobody sets.
task<void> wait_forever(async_event& ev, int& cancelled) {
  try {
    co_await ev.wait();
  } catch (const operation_cancelled&) {
    ++cancelled;
    throw;
  }
}

}  // namespace

TEST_CASE("children run concurrently and join waits for all of them") {
  event_loop loop({.virtual_time = true});
  std::vector<int> log;
  auto body = [&]() -> task<void> {
    task_scope scope{co_await this_context()};
    scope.spawn(sleep_then_log(3s, 3, log));
    scope.spawn(sleep_then_log(1s, 1, log));
    scope.spawn(sleep_then_log(2s, 2, log));
    CHECK(scope.size() == 3);
    co_await scope.join();
    CHECK(scope.size() == 0);
  };
  loop.run(body());
  CHECK(log == std::vector<int>{1, 2, 3});
  CHECK(test::elapsed(loop) == 3s);  // concurrently: 3 s, not 6 s
}

TEST_CASE("join completes only after every child's frame is destroyed") {
  test::lifetime_counter::alive = 0;
  auto body = [&]() -> task<int> {
    task_scope scope{co_await this_context()};
    for (int i = 1; i <= 5; ++i)
      scope.spawn(counted_sleeper(std::chrono::seconds(i)));
    co_await sleep_for(0s);  // let them start
    const int started = test::lifetime_counter::alive;
    co_await scope.join();
    CHECK(test::lifetime_counter::alive == 0);
    co_return started;
  };
  CHECK(test::run_virtual(body()) == 5);
}

TEST_CASE("fail-fast: the first error cancels siblings; join throws every failure") {
  event_loop loop({.virtual_time = true});
  int cancelled = 0;
  async_event never;
  auto body = [&]() -> task<std::string> {
    task_scope scope{co_await this_context()};
    scope.spawn(wait_forever(never, cancelled));
    scope.spawn(fail_after(1s, "first"));
    scope.spawn(fail_after(1s, "second"));  // same instant, fails after the first
    try {
      co_await scope.join();
    } catch (const task_group_error& e) {
      CHECK(scope.errors().size() == 2);
      REQUIRE(e.errors().size() == 2);  // both reachable from what was thrown, first first
      std::string order;
      for (const auto& p : e.errors()) {
        try {
          std::rethrow_exception(p);
        } catch (const std::runtime_error& x) {
          order += x.what();
        }
      }
      co_return order;
    }
    co_return "join did not throw a task_group_error";
  };
  CHECK(loop.run(body()) == "firstsecond");
  CHECK(cancelled == 1);  // the sibling was cancelled, not counted as a failure
  CHECK(test::elapsed(loop) == 1s);
}

TEST_CASE("fail-fast: a single failure is rethrown as itself") {
  async_event never;
  int cancelled = 0;
  auto body = [&]() -> task<void> {
    task_scope scope{co_await this_context()};
    scope.spawn(wait_forever(never, cancelled));
    scope.spawn(fail_after(1s, "only"));
    co_await scope.join();
  };
  CHECK_THROWS_WITH_AS(test::run_virtual(body()), "only", std::runtime_error);
  CHECK(cancelled == 1);
}

TEST_CASE("supervising policy reports each failure and keeps the rest running") {
  event_loop loop({.virtual_time = true});
  std::vector<std::string> reports;
  std::vector<int> log;
  auto body = [&]() -> task<void> {
    task_scope scope{co_await this_context()};
    scope.supervise([&](const child_error& e) {
      try {
        std::rethrow_exception(e.error);
      } catch (const std::exception& ex) {
        reports.push_back(std::string(e.name) + ":" + ex.what());
      }
    });
    scope.spawn(fail_after(1s, "bad peer"), "conn-1");
    scope.spawn(sleep_then_log(2s, 2, log), "conn-2");
    co_await scope.join();  // does not throw
  };
  loop.run(body());
  CHECK(reports == std::vector<std::string>{"conn-1:bad peer"});
  CHECK(log == std::vector<int>{2});
}

TEST_CASE("a supervisor callback that throws escalates to fail-fast") {
  auto body = [&]() -> task<void> {
    task_scope scope{co_await this_context()};
    scope.supervise([](const child_error&) { throw std::logic_error("cannot handle"); });
    scope.spawn(fail_after(1s, "x"));
    co_await scope.join();
  };
  CHECK_THROWS_AS(test::run_virtual(body()), std::logic_error);
}

TEST_CASE("cancel() cancels sleeping and waiting children at once") {
  event_loop loop({.virtual_time = true});
  int cancelled = 0;
  async_event never;
  auto body = [&]() -> task<void> {
    task_scope scope{co_await this_context()};
    scope.spawn(wait_forever(never, cancelled));
    auto child_1 = [&]() -> task<void> {
      try {
        co_await sleep_for(24h);
      } catch (const operation_cancelled&) {
        ++cancelled;
        throw;
      }
    };
    scope.spawn(child_1());
    co_await sleep_for(5s);
    scope.cancel();
    co_await scope.join();
  };
  loop.run(body());
  CHECK(cancelled == 2);
  CHECK(test::elapsed(loop) == 5s);
}

TEST_CASE("cancellation is level-triggered: every later suspension throws, cleanup too") {
  std::vector<std::string> log;
  auto child = [&]() -> task<void> {
    try {
      co_await sleep_for(1h);
    } catch (const operation_cancelled&) {
      log.push_back("first");
    }
    // Cleanup that suspends again: still cancelled.
    try {
      co_await sleep_for(0s);
    } catch (const operation_cancelled&) {
      log.push_back("second");
    }
    async_event ev{true};  // even an already-set event is a checkpoint
    try {
      co_await ev.wait();
    } catch (const operation_cancelled&) {
      log.push_back("third");
    }
  };
  auto body = [&]() -> task<void> {
    task_scope scope{co_await this_context()};
    scope.spawn(child());
    co_await sleep_for(1s);
    scope.cancel();
    co_await scope.join();
  };
  test::run_virtual(body());
  CHECK(log == std::vector<std::string>{"first", "second", "third"});
}

TEST_CASE("a shielded cleanup runs despite cancellation, bounded by its own deadline") {
  event_loop loop({.virtual_time = true});
  std::vector<std::string> log;
  auto child = [&]() -> task<void> {
    try {
      co_await sleep_for(1h);
    } catch (const operation_cancelled&) {
      log.push_back("cancelled");
    }
    // Like a DISCONNECT on stop: must still talk, but within 2 s.
    co_await shield(2s, [&]() -> task<void> {
      co_await sleep_for(1s);
      log.push_back("said goodbye");
    }());
    try {
      co_await shield(2s, sleep_task(10s));
    } catch (const timed_out&) {
      log.push_back("stuck goodbye cut off");
    }
  };
  auto body = [&]() -> task<void> {
    task_scope scope{co_await this_context()};
    scope.spawn(child());
    co_await sleep_for(1s);
    scope.cancel();
    co_await scope.join();
  };
  loop.run(body());
  CHECK(log == std::vector<std::string>{"cancelled", "said goodbye", "stuck goodbye cut off"});
  CHECK(test::elapsed(loop) == 1s + 1s + 2s);
}

TEST_CASE("a cancelled joiner cancels the scope, still waits for every child, then throws") {
  event_loop loop({.virtual_time = true});
  int cancelled = 0;
  async_event never;
  bool joined_all = false;
  auto owner = [&]() -> task<void> {
    task_scope inner{co_await this_context()};
    inner.spawn(wait_forever(never, cancelled));
    inner.spawn(wait_forever(never, cancelled));
    try {
      co_await inner.join();
    } catch (const operation_cancelled&) {
      joined_all = inner.size() == 0;
      throw;
    }
  };
  auto body = [&]() -> task<void> {
    task_scope outer{co_await this_context()};
    outer.spawn(owner());
    co_await sleep_for(3s);
    outer.cancel();
    co_await outer.join();
  };
  loop.run(body());
  CHECK(cancelled == 2);
  CHECK(joined_all);
}

TEST_CASE("stop() from inside a child cancels and returns; the owner completes the join") {
  event_loop loop({.virtual_time = true});
  std::vector<std::string> log;
  auto body = [&]() -> task<void> {
    task_scope scope{loop};
    auto child_2 = [&]() -> task<void> {
      co_await sleep_for(1s);
      co_await scope.stop();  // a handler stopping its own server
      log.push_back("stop returned inside");
      co_await sleep_for(1s);  // cancelled now
      log.push_back("unreachable");
    };
    scope.spawn(child_2());
    scope.spawn(sleep_task(10s));
    co_await scope.join();  // ends when the child's stop has cancelled everything
    log.push_back("owner joined");
    co_await scope.stop();  // idempotent afterwards
    co_await scope.stop();
  };
  loop.run(body());
  CHECK(log == std::vector<std::string>{"stop returned inside", "owner joined"});
  CHECK(test::elapsed(loop) == 1s);
}

TEST_CASE("join from inside one of its own children is refused instead of deadlocking") {
  event_loop loop({.virtual_time = true});
  bool refused = false;
  auto body = [&]() -> task<void> {
    task_scope scope{loop};
    auto child_3 = [&]() -> task<void> {
      try {
        co_await scope.join();
      } catch (const self_join&) {
        refused = true;
      }
    };
    scope.spawn(child_3());
    co_await scope.join();
  };
  loop.run(body());
  CHECK(refused);
}

TEST_CASE("task_handle::join from inside its own task is self_join; a sibling's join waits") {
  // Before: the join linked the child as its own waiter and never ended
  // (the test hung until its own 1 h limit cancelled it).
  event_loop loop({.virtual_time = true});
  int refused = 0;
  bool sibling_joined = false;
  auto body = [&]() -> task<void> {
    task_scope scope{loop};
    task_handle h;
    auto nested = [&]() -> task<void> {
      try {
        co_await h.join();
      } catch (const self_join&) {
        ++refused;
      }
    };
    h = scope.spawn([&]() -> task<void> {
      co_await yield();  // `h` is set by now
      CHECK(h.encloses(co_await this_context()));
      try {
        co_await h.join();  // the child itself
      } catch (const self_join&) {
        ++refused;
      }
      co_await nested();  // a task the child awaits is inside it too
      co_await with_scope([&](task_scope& inner) -> task<void> {
        inner.spawn(nested());  // and a child of a scope the child owns
        co_return;
      });
      co_await sleep_for(1s);
    });
    scope.spawn([&]() -> task<void> {
      CHECK_FALSE(h.encloses(co_await this_context()));
      co_await h.join();  // a sibling: waits for the end
      sibling_joined = true;
    });
    CHECK_FALSE(h.encloses(co_await this_context()));
    co_await with_timeout(1h, scope.join());
  };
  loop.run(body());
  CHECK(refused == 3);
  CHECK(sibling_joined);
  CHECK(test::elapsed(loop) == 1s);
}

TEST_CASE("stop() names a child that ignores cancellation once the grace period ends") {
  event_loop loop({.virtual_time = true});
  async_event release;
  std::vector<std::string> stuck_names;
  std::chrono::nanoseconds reported_at{-1};
  std::chrono::nanoseconds stopped_at{-1};
  auto wait_release = [&]() -> task<void> { co_await release.wait(); };
  auto stubborn = [&]() -> task<void> {
    // A user callback blocking in an uncancellable wait.
    co_await shield(24h, wait_release());
  };
  auto body = [&]() -> task<void> {
    task_scope workers{loop};
    workers.on_stuck([&](std::span<const stuck_task> stuck) {
      reported_at = test::elapsed(loop);
      for (const auto& s : stuck)
        stuck_names.push_back(std::string(s.name));
    });
    workers.spawn(stubborn(), "stubborn-handler");
    workers.spawn(sleep_task(100s), "polite");
    task_scope releaser{loop};
    auto child_4 = [&]() -> task<void> {
      co_await sleep_for(10s);
      release.set();
    };
    releaser.spawn(child_4());
    co_await workers.stop(2s);
    stopped_at = test::elapsed(loop);  // a bound: the stuck frame was destroyed
    co_await releaser.join();
  };
  loop.run(body());
  CHECK(stuck_names == std::vector<std::string>{"stubborn-handler"});
  CHECK(reported_at == 2s);
  CHECK(stopped_at == 2s);
  CHECK(test::elapsed(loop) == 10s);
}

TEST_CASE("spawned children record where they were spawned") {
  event_loop loop({.virtual_time = true});
  unsigned line = 0;
  std::string file;
  auto body = [&]() -> task<void> {
    async_event release;
    task_scope s{loop};
    s.on_stuck([&](std::span<const stuck_task> stuck) {
      file = stuck[0].where.file;
      line = stuck[0].where.line;
      release.set();
    });
    auto wait_release = [&]() -> task<void> { co_await release.wait(); };
    auto stubborn = [&]() -> task<void> { co_await shield(1h, wait_release()); };
    const unsigned expected = __LINE__ + 1;
    s.spawn(stubborn());
    co_await s.stop(1s);
    CHECK(line == expected);
  };
  loop.run(body());
  CHECK(file.find("test_scope.cpp") != std::string::npos);
}

TEST_CASE("an unused scope destroys cleanly; a root scope outlives a loop turn") {
  event_loop loop({.virtual_time = true});
  { task_scope unused{loop}; }
  auto body = [&]() -> task<int> {
    task_scope s{loop};
    int n = 0;
    auto child_5 = [&]() -> task<void> {
      ++n;
      co_return;
    };
    s.spawn(child_5());
    co_await s.join();
    co_return n;
  };
  CHECK(loop.run(body()) == 1);
}

TEST_CASE("100,000 spawned tasks are all joined and no frame is left") {
  const long before = live_task_frames();
  long ran = 0;
  auto body = [&]() -> task<void> {
    task_scope scope{co_await this_context()};
    for (int i = 0; i < 100'000; ++i) {
      scope.spawn([](long& r, int i) -> task<void> {
        if (i % 2 == 0) co_await sleep_for(std::chrono::milliseconds(i % 97));
        ++r;
      }(ran, i));
    }
    co_await scope.join();
  };
  test::run_virtual(body());
  CHECK(ran == 100'000);
  CHECK(live_task_frames() == before);
}

TEST_CASE("a nested scope follows its parent's cancellation") {
  event_loop loop({.virtual_time = true});
  int cancelled = 0;
  async_event never;
  auto body = [&]() -> task<void> {
    task_scope parent{loop};
    task_scope child{parent};
    child.spawn(wait_forever(never, cancelled));
    parent.spawn(wait_forever(never, cancelled));
    co_await sleep_for(1s);
    parent.cancel();
    co_await child.join();
    co_await parent.join();
  };
  loop.run(body());
  CHECK(cancelled == 2);
}
