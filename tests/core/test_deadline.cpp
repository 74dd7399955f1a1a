#include <netaio/core.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "support/run.hpp"

using namespace netaio;
using namespace std::chrono_literals;

namespace {

task<int> after(std::chrono::seconds d, int v) {
  co_await sleep_for(d);
  co_return v;
}

task<void> sleep_task(std::chrono::seconds d) {
  co_await sleep_for(d);
}

}  // namespace

TEST_CASE("with_timeout returns the value when the task is fast enough") {
  event_loop loop({.virtual_time = true});
  auto body = []() -> task<int> { co_return co_await with_timeout(5s, after(2s, 7)); };
  CHECK(loop.run(body()) == 7);
  CHECK(test::elapsed(loop) == 2s);
}

TEST_CASE("with_timeout throws timed_out at exactly the deadline, even after an hour") {
  event_loop loop({.virtual_time = true});
  auto body = []() -> task<void> { co_await with_timeout(1h, after(2h, 1)); };
  CHECK_THROWS_AS(loop.run(body()), timed_out);
  CHECK(test::elapsed(loop) == 1h);
}

TEST_CASE("move_on_after gives an empty result (or false) instead of throwing") {
  event_loop loop({.virtual_time = true});
  auto body = []() -> task<std::string> {
    std::optional<int> fast = co_await move_on_after(3s, after(1s, 5));
    std::optional<int> slow = co_await move_on_after(3s, after(10s, 6));
    bool done = co_await move_on_after(1s, sleep_task(0s));
    bool cut = co_await move_on_after(1s, sleep_task(5s));
    co_return std::to_string(fast.value_or(-1)) + "," + std::to_string(slow.value_or(-1)) + "," +
        std::to_string(done) + "," + std::to_string(cut);
  };
  CHECK(loop.run(body()) == "5,-1,1,0");
  CHECK(test::elapsed(loop) == 1s + 3s + 0s + 1s);
}

TEST_CASE("a timeout is reported distinctly from an outer cancellation") {
  event_loop loop({.virtual_time = true});
  std::vector<std::string> log;
  auto child = [&]() -> task<void> {
    try {
      co_await with_timeout(1h, sleep_task(2h));
    } catch (const timed_out&) {
      log.push_back("timed out");
    } catch (const operation_cancelled&) {
      log.push_back("cancelled");
    }
  };
  auto body = [&]() -> task<void> {
    task_scope scope{loop};
    scope.spawn(child());
    co_await sleep_for(10s);
    scope.cancel();  // the outer cancellation comes long before the deadline
    co_await scope.join();
    task_scope second{loop};
    second.spawn(child());  // this one reaches its deadline
    co_await second.join();
  };
  loop.run(body());
  CHECK(log == std::vector<std::string>{"cancelled", "timed out"});
  CHECK(test::elapsed(loop) == 10s + 1h);
}

TEST_CASE("nested deadlines: an inner one shortens, but never extends, the outer") {
  event_loop loop({.virtual_time = true});
  std::vector<std::string> log;
  auto inner_longer = [&]() -> task<void> {
    try {
      co_await with_timeout(10s, sleep_task(1h));
    } catch (const timed_out&) {
      log.push_back("inner timed out");  // must not happen: the outer ends first
    }
  };
  auto inner_shorter = [&]() -> task<void> {
    try {
      co_await with_timeout(2s, sleep_task(1h));
    } catch (const timed_out&) {
      log.push_back("inner fired at " + std::to_string(test::elapsed(loop) / 1s));
    }
  };
  auto body = [&]() -> task<void> {
    try {
      co_await with_timeout(5s, inner_longer());
    } catch (const timed_out&) {
      log.push_back("outer fired at " + std::to_string(test::elapsed(loop) / 1s));
    }
    co_await with_timeout(5s, inner_shorter());
  };
  loop.run(body());
  CHECK(log == std::vector<std::string>{"outer fired at 5", "inner fired at 7"});
}

TEST_CASE("a shield ignores outer cancellation but throws timed_out at its own limit") {
  event_loop loop({.virtual_time = true});
  std::vector<std::string> log;
  auto child = [&]() -> task<void> {
    co_await shield(30s, sleep_task(20s));
    log.push_back("shielded work finished");
    try {
      co_await shield(30s, sleep_task(1h));
    } catch (const timed_out&) {
      log.push_back("shield limit");
    }
    try {
      co_await sleep_for(1s);
    } catch (const operation_cancelled&) {
      log.push_back("cancelled again outside the shield");
    }
  };
  auto body = [&]() -> task<void> {
    task_scope scope{loop};
    scope.spawn(child());
    co_await sleep_for(1s);
    scope.cancel();
    co_await scope.join();
  };
  loop.run(body());
  CHECK(log == std::vector<std::string>{"shielded work finished", "shield limit",
                                        "cancelled again outside the shield"});
  CHECK(test::elapsed(loop) == 20s + 30s);
}

TEST_CASE("a deadline that never fires leaves no timer behind") {
  event_loop loop({.virtual_time = true});
  auto body = [&]() -> task<std::size_t> {
    for (int i = 0; i < 1000; ++i)
      co_await with_timeout(1h, after(0s, i));
    co_return loop.timers().size();
  };
  CHECK(loop.run(body()) == 0);
  CHECK(test::elapsed(loop) == 0s);
}

TEST_CASE("sleep_until wakes at the given virtual instant, in deadline order") {
  event_loop loop({.virtual_time = true});
  std::vector<int> order;
  auto sleeper = [&](int id, std::chrono::seconds at) -> task<void> {
    co_await sleep_until(event_loop::time_point{} + at);
    order.push_back(id);
  };
  auto body = [&]() -> task<void> {
    task_scope s{loop};
    s.spawn(sleeper(3, 30s));
    s.spawn(sleeper(1, 10s));
    s.spawn(sleeper(2, 10s));  // same instant: arming order
    co_await s.join();
  };
  loop.run(body());
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(test::elapsed(loop) == 30s);
}
