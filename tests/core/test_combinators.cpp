#include <netaio/core.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "support/run.hpp"

using namespace netaio;
using namespace std::chrono_literals;

namespace {

task<int> after(std::chrono::seconds d, int v) {
  test::lifetime_counter alive;
  co_await sleep_for(d);
  co_return v;
}

task<void> fail_after(std::chrono::seconds d) {
  test::lifetime_counter alive;
  co_await sleep_for(d);
  throw std::runtime_error("failed");
}

}  // namespace

TEST_CASE("when_all gives every result, in argument order, after the slowest") {
  event_loop loop({.virtual_time = true});
  auto body = []() -> task<int> {
    auto [a, b, c] = co_await when_all(after(3s, 1), after(1s, 2), after(2s, 3));
    co_return a * 100 + b * 10 + c;
  };
  CHECK(loop.run(body()) == 123);
  CHECK(test::elapsed(loop) == 3s);
}

TEST_CASE("when_all over a vector, and with void tasks") {
  event_loop loop({.virtual_time = true});
  auto body = []() -> task<int> {
    std::vector<task<int>> ts;
    for (int i = 1; i <= 4; ++i)
      ts.push_back(after(std::chrono::seconds(5 - i), i));
    std::vector<int> r = co_await when_all(std::move(ts));
    auto nothing = []() -> task<void> { co_return; };
    auto [m, v] = co_await when_all(nothing(), after(1s, 9));
    (void)m;
    co_return r[0] * 1000 + r[1] * 100 + r[2] * 10 + r[3] + v * 10000;
  };
  CHECK(loop.run(body()) == 91234);
}

TEST_CASE("when_all: a failure cancels the others, and their frames are gone before it throws") {
  event_loop loop({.virtual_time = true});
  test::lifetime_counter::alive = 0;
  int alive_when_caught = -1;
  auto body = [&]() -> task<void> {
    try {
      co_await when_all(after(1h, 1), fail_after(2s), after(1h, 2));
    } catch (const std::runtime_error&) {
      alive_when_caught = test::lifetime_counter::alive;
    }
  };
  loop.run(body());
  CHECK(alive_when_caught == 0);
  CHECK(test::elapsed(loop) == 2s);
}

TEST_CASE("when_any returns the first finisher after the losers are destroyed") {
  event_loop loop({.virtual_time = true});
  test::lifetime_counter::alive = 0;
  int alive_after = -1;
  auto body = [&]() -> task<std::size_t> {
    auto w = co_await when_any(after(5s, 1), after(2s, 2), after(9s, 3));
    alive_after = test::lifetime_counter::alive;
    CHECK(w.get<1>() == 2);
    CHECK(!w.get<0>());  // losers that did not complete have no value
    CHECK(!w.get<2>());
    co_return w.first;
  };
  CHECK(loop.run(body()) == 1);
  CHECK(alive_after == 0);
  CHECK(test::elapsed(loop) == 2s);
}

TEST_CASE("when_any rethrows a failure that finishes first") {
  auto body = []() -> task<void> { (void)co_await when_any(after(5s, 1), fail_after(1s)); };
  CHECK_THROWS_AS(test::run_virtual(body()), std::runtime_error);
}

TEST_CASE("cancelling the task awaiting a combinator cancels and joins its children") {
  event_loop loop({.virtual_time = true});
  test::lifetime_counter::alive = 0;
  bool cancelled = false;
  auto waiter = [&]() -> task<void> {
    try {
      co_await when_all(after(1h, 1), after(2h, 2));
    } catch (const operation_cancelled&) {
      cancelled = test::lifetime_counter::alive == 0;
      throw;
    }
  };
  auto body = [&]() -> task<void> {
    task_scope s{loop};
    s.spawn(waiter());
    co_await sleep_for(1s);
    s.cancel();
    co_await s.join();
  };
  loop.run(body());
  CHECK(cancelled);
  CHECK(test::elapsed(loop) == 1s);
}
