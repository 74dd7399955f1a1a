#include <netaio/core.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "support/run.hpp"

using namespace netaio;
using namespace std::chrono_literals;

TEST_CASE("virtual time only moves when every task is blocked") {
  event_loop loop({.virtual_time = true});
  std::vector<long> seen;
  auto busy = [&]() -> task<void> {
    for (int i = 0; i < 3; ++i) {
      seen.push_back(test::elapsed(loop) / 1ms);
      co_await yield();  // runnable again at once: no jump
    }
  };
  auto sleeper = [&]() -> task<void> {
    co_await sleep_for(250ms);
    seen.push_back(test::elapsed(loop) / 1ms);
  };
  auto body = [&]() -> task<void> {
    task_scope s{loop};
    s.spawn(busy());
    s.spawn(sleeper());
    co_await s.join();
  };
  loop.run(body());
  CHECK(seen == std::vector<long>{0, 0, 0, 250});
}

TEST_CASE("a real-time loop also runs timers in order") {
  event_loop loop;
  std::vector<int> order;
  auto sleeper = [&](int id, std::chrono::milliseconds d) -> task<void> {
    co_await sleep_for(d);
    order.push_back(id);
  };
  auto body = [&]() -> task<void> {
    task_scope s{loop};
    s.spawn(sleeper(2, 2ms));
    s.spawn(sleeper(1, 1ms));
    co_await s.join();
  };
  loop.run(body());
  CHECK(order == std::vector<int>{1, 2});
}

TEST_CASE("timer queue: a million random timers inserted then cancelled, order kept") {
  detail::timer_queue q;
  std::vector<detail::timer_node> nodes(1'000'000);
  std::mt19937_64 rng(42);
  for (auto& n : nodes) {
    n.deadline = detail::loop_time{} + std::chrono::nanoseconds(rng() % 1'000'000'000);
    q.push(&n);
  }
  CHECK(q.size() == nodes.size());
  // Cancel every other one, then pop the rest: they must come out sorted.
  for (std::size_t i = 0; i < nodes.size(); i += 2)
    q.erase(&nodes[i]);
  CHECK(q.size() == nodes.size() / 2);
  detail::loop_time last{};
  std::size_t popped = 0;
  bool sorted = true;
  while (auto* n = q.pop_due(detail::loop_time::max())) {
    sorted = sorted && n->deadline >= last;
    last = n->deadline;
    ++popped;
  }
  CHECK(sorted);
  CHECK(popped == nodes.size() / 2);
  CHECK(std::none_of(nodes.begin(), nodes.end(), [](const auto& n) { return n.armed(); }));
}

TEST_CASE("posted work runs on the loop thread, between tasks") {
  event_loop loop({.virtual_time = true});
  std::vector<int> log;
  auto body = [&]() -> task<void> {
    loop.post([&] { log.push_back(2); });
    log.push_back(1);
    co_await yield();
    log.push_back(3);
  };
  loop.run(body());
  CHECK(log == std::vector<int>{1, 2, 3});
}
