#include <netaio/core.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
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

TEST_CASE("turn-end work runs once, after the turn's ready tasks and before the next turn") {
  event_loop loop({.virtual_time = true});
  std::vector<std::string> seen;
  struct node : detail::turn_end_node {
    std::vector<std::string>* seen;
    std::string name;
    event_loop* loop;
    int again = 0;  // how many times it queues itself again while running
    node(std::vector<std::string>& s, std::string n, event_loop& l)
        : seen(&s), name(std::move(n)), loop(&l) {
      run = [](detail::turn_end_node* p) noexcept {
        auto* self = static_cast<node*>(p);
        self->seen->push_back(self->name);
        if (self->again > 0) {
          --self->again;
          self->loop->at_turn_end(*self);
        }
      };
    }
  };
  node a(seen, "a", loop);
  node b(seen, "b", loop);
  node c(seen, "c", loop);
  auto worker = [&](std::string name) -> task<void> {
    seen.push_back(name + "1");
    loop.at_turn_end(a);
    loop.at_turn_end(a);  // queued twice in a turn: runs once
    co_await yield();
    seen.push_back(name + "2");
  };
  loop.run([&]() -> task<void> {
    task_scope s{loop};
    s.spawn(worker("x"));
    s.spawn(worker("y"));
    co_await yield();  // both workers run their first part in this turn
    CHECK(seen == std::vector<std::string>{"x1", "y1"});
    co_await yield();
    // a ran at the end of that turn, once, before the workers went on.
    CHECK(seen == std::vector<std::string>{"x1", "y1", "a", "x2", "y2"});
    seen.clear();
    loop.at_turn_end(b);
    loop.at_turn_end(c);
    loop.cancel_turn_end(b);  // taken back: it does not run
    c.again = 2;              // queued again while it runs: runs again in this turn
    co_await yield();
    CHECK(seen == std::vector<std::string>{"c", "c", "c"});
    co_await s.join();
  }());
  CHECK(!a.queued);
  CHECK(!b.queued);
  CHECK(!c.queued);
}
