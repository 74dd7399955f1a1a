#include <netaio/core.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/run.hpp"

using namespace netaio;
using namespace std::chrono_literals;

TEST_CASE("async_event wakes every waiter; later waits pass until reset") {
  event_loop loop({.virtual_time = true});
  async_event ev;
  std::vector<int> woke;
  auto waiter = [&](int id) -> task<void> {
    co_await ev.wait();
    woke.push_back(id);
  };
  auto body = [&]() -> task<void> {
    task_scope s{loop};
    s.spawn(waiter(1));
    s.spawn(waiter(2));
    co_await sleep_for(5s);
    CHECK(woke.empty());
    ev.set();
    co_await s.join();
    co_await ev.wait();  // already set
    ev.reset();
    CHECK_FALSE(ev.is_set());
    CHECK(co_await move_on_after(1s, waiter(3)) == false);
  };
  loop.run(body());
  CHECK(woke.size() == 2);
  CHECK(test::elapsed(loop) == 6s);
}

TEST_CASE("a cancelled event wait leaves the other waiters in place") {
  event_loop loop({.virtual_time = true});
  async_event ev;
  int woke = 0;
  auto waiter = [&]() -> task<void> {
    co_await ev.wait();
    ++woke;
  };
  auto body = [&]() -> task<void> {
    task_scope keep{loop};
    task_scope drop{loop};
    keep.spawn(waiter());
    drop.spawn(waiter());
    keep.spawn(waiter());
    co_await sleep_for(1s);
    drop.cancel();
    co_await drop.join();
    ev.set();
    co_await keep.join();
  };
  loop.run(body());
  CHECK(woke == 2);
}

TEST_CASE("async_queue: FIFO, and push waits while full (backpressure)") {
  event_loop loop({.virtual_time = true});
  async_queue<int> q(2);
  std::vector<std::string> log;
  auto producer = [&]() -> task<void> {
    for (int i = 0; i < 5; ++i) {
      co_await q.push(i);
      log.push_back("pushed " + std::to_string(i) + " at " +
                    std::to_string(test::elapsed(loop) / 1s));
    }
  };
  auto consumer = [&]() -> task<void> {
    for (int i = 0; i < 5; ++i) {
      co_await sleep_for(10s);
      int v = co_await q.pop();
      log.push_back("popped " + std::to_string(v));
    }
  };
  auto body = [&]() -> task<void> {
    task_scope s{loop};
    s.spawn(producer());
    s.spawn(consumer());
    co_await s.join();
  };
  loop.run(body());
  CHECK(log == std::vector<std::string>{"pushed 0 at 0", "pushed 1 at 0", "popped 0",
                                        "pushed 2 at 10", "popped 1", "pushed 3 at 20", "popped 2",
                                        "pushed 4 at 30", "popped 3", "popped 4"});
}

TEST_CASE("async_queue: a waiting popper takes a pushed value directly; try_ forms never wait") {
  event_loop loop({.virtual_time = true});
  async_queue<std::unique_ptr<int>> q(1);
  auto body = [&]() -> task<int> {
    task_scope s{loop};
    int got = 0;
    auto popper = [&]() -> task<void> { got = *co_await q.pop(); };
    s.spawn(popper());
    co_await sleep_for(1s);
    CHECK(q.try_push(std::make_unique<int>(41)));
    co_await s.join();
    CHECK(q.try_push(std::make_unique<int>(1)));
    CHECK_FALSE(q.try_push(std::make_unique<int>(2)));  // full
    CHECK(*q.try_pop().value() == 1);
    CHECK_FALSE(q.try_pop().has_value());
    co_return got + 1;
  };
  CHECK(loop.run(body()) == 42);
}

TEST_CASE("async_queue: cancelled push enqueues nothing, cancelled pop takes nothing") {
  event_loop loop({.virtual_time = true});
  async_queue<int> q(1);
  auto body = [&]() -> task<void> {
    CHECK(q.try_push(1));
    CHECK(co_await move_on_after(1s, [&]() -> task<void> { co_await q.push(2); }()) == false);
    CHECK(q.size() == 1);
    CHECK(q.try_pop() == 1);
    CHECK(co_await move_on_after(1s, [&]() -> task<void> { (void)co_await q.pop(); }()) == false);
    CHECK(q.try_push(3));
    CHECK(co_await q.pop() == 3);  // the cancelled pop did not steal it
  };
  loop.run(body());
}

TEST_CASE("async_queue: close lets poppers drain, then reports queue_closed") {
  event_loop loop({.virtual_time = true});
  async_queue<int> q(4);
  std::vector<std::string> log;
  auto body = [&]() -> task<void> {
    co_await q.push(1);
    co_await q.push(2);
    q.close();
    try {
      co_await q.push(3);
    } catch (const queue_closed&) {
      log.push_back("push refused");
    }
    log.push_back(std::to_string(co_await q.pop()));
    log.push_back(std::to_string(co_await q.pop()));
    try {
      (void)co_await q.pop();
    } catch (const queue_closed&) {
      log.push_back("drained");
    }
  };
  loop.run(body());
  CHECK(log == std::vector<std::string>{"push refused", "1", "2", "drained"});
}

TEST_CASE("async_queue: close wakes blocked pushers and poppers") {
  event_loop loop({.virtual_time = true});
  async_queue<int> full(1);
  async_queue<int> empty(1);
  int refused = 0;
  auto pusher = [&]() -> task<void> {
    try {
      co_await full.push(2);
    } catch (const queue_closed&) {
      ++refused;
    }
  };
  auto popper = [&]() -> task<void> {
    try {
      (void)co_await empty.pop();
    } catch (const queue_closed&) {
      ++refused;
    }
  };
  auto body = [&]() -> task<void> {
    CHECK(full.try_push(1));
    task_scope s{loop};
    s.spawn(pusher());
    s.spawn(popper());
    co_await sleep_for(1s);
    full.close();
    empty.close();
    co_await s.join();
  };
  loop.run(body());
  CHECK(refused == 2);
}
