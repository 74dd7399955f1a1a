// Timers at scale: a million pending timers with random deadlines are
// inserted and cancelled through the loop's heap (O(log n) each).
#include <netaio/core.hpp>
#include <netaio/io/io_context.hpp>
#include <netaio/io/tcp_listener.hpp>
#include <netaio/io/tcp_stream.hpp>

#include <doctest/doctest.h>

#include "io_support.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

using namespace netaio;
using namespace std::chrono_literals;

TEST_CASE("one million timers with random deadlines: insert, then cancel in random order") {
  io_context io({.virtual_time = true});
  auto& q = io.timers();
  constexpr std::size_t n = 1'000'000;
  std::vector<detail::timer_node> nodes(n);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> ms(0, 3'600'000);
  for (auto& t : nodes) {
    t.deadline = io.now() + std::chrono::milliseconds(ms(rng));
    t.fire = [](detail::timer_node*) noexcept {};
    q.push(&t);
  }
  CHECK(q.size() == n);
  const auto earliest = std::min_element(nodes.begin(), nodes.end(), [](auto& a, auto& b) {
                          return a.deadline < b.deadline;
                        })->deadline;
  CHECK(q.top()->deadline == earliest);

  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i)
    order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  // Cancel all but 1000, then check the survivors still come out in order.
  for (std::size_t i = 0; i + 1000 < n; ++i)
    q.erase(&nodes[order[i]]);
  CHECK(q.size() == 1000);
  auto last = io.now();
  std::size_t popped = 0;
  while (auto* t = q.pop_due(detail::loop_time::max())) {
    CHECK(t->deadline >= last);
    last = t->deadline;
    ++popped;
  }
  CHECK(popped == 1000);
  CHECK(q.empty());
}

TEST_CASE("100,000 sleeping tasks on an io_context are cancelled at once") {
  io_context io({.virtual_time = true});
  const long frames = live_task_frames();
  io.run([](io_context& io) -> task<void> {
    task_scope scope{co_await this_context()};
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> secs(1, 86'400);
    for (int i = 0; i < 100'000; ++i)
      scope.spawn([](std::chrono::seconds d) -> task<void> {
        co_await sleep_for(d);
      }(std::chrono::seconds(secs(rng))));
    co_await yield();
    CHECK(io.timers().size() == 100'000);
    const auto at = io.now();
    scope.cancel();
    co_await scope.join();
    CHECK(io.now() == at);
    CHECK(io.timers().empty());
  }(io));
  CHECK(live_task_frames() == frames);
}

TEST_CASE("a real-time sleep on an io_context never ends before its deadline") {
  io_context io;
  io.run([](io_context& io) -> task<void> {
    for (std::chrono::microseconds d : {100us, 1000us, 1500us, 2000us, 15000us, 16000us}) {
      const auto start = io.now();
      co_await sleep_for(d);
      CHECK(io.now() - start >= d);
    }
  }(io));
}

TEST_CASE("the backend's wait rounds its timeout up to its unit, never down") {
  // Rounding down (1.5 ms to 1 ms) would wake the loop before its next
  // timer is due: it would find nothing to do and wait again with what
  // is left, rounded down to zero, spinning until the deadline.
  io_context io;
  for (int round = 0; round < 10; ++round) {
    for (std::chrono::microseconds d : {100us, 1500us}) {
      const auto start = std::chrono::steady_clock::now();
      CHECK(io.backend().wait(d) == 0);
      CHECK(std::chrono::steady_clock::now() - start >= d);
    }
  }
}

namespace {

task<void> sleep_task(std::chrono::milliseconds d) {
  co_await sleep_for(d);
}

task<void> read_one(tcp_stream& s) {
  std::array<std::uint8_t, 1> in{};
  co_await s.read_some(in);
}

// Makes the loop wait for I/O once, with its timers as they are: a reader
// waits, then a byte arrives for it.
task<void> wait_for_io(test::pair_of_streams& p) {
  co_await with_scope([&p](task_scope& s) -> task<void> {
    s.spawn(read_one(p.server));
    co_await yield();  // the reader is waiting now
    const std::array<std::uint8_t, 1> out{1};
    co_await p.client.write_all(out);
  });
}

}  // namespace

TEST_CASE(
    "a deadline nearer than the one the backend is set for, or later than a cancelled one, "
    "ends on time") {
  // The epoll backend keeps the loop's earliest deadline in a timerfd and
  // sets it again only for a nearer deadline, or after it fired: each step
  // makes the loop wait for I/O with one timer first in line, then changes
  // the line. A missed re-arm shows as a sleep ending at the old deadline.
  io_context io;
  io.run([](io_context& io) -> task<void> {
    auto p = co_await test::connected_pair(io);
    co_await with_scope([&](task_scope& s) -> task<void> {
      s.spawn(sleep_task(std::chrono::milliseconds(20s)));
      co_await wait_for_io(p);  // the backend is set for 20 s from now
      auto t0 = io.now();
      co_await sleep_for(5ms);  // nearer
      CHECK(io.now() - t0 >= 5ms);
      CHECK(io.now() - t0 < 10s);

      task_handle soon = s.spawn(sleep_task(3ms));
      co_await wait_for_io(p);  // set for 3 ms from now
      soon.cancel();
      t0 = io.now();
      co_await sleep_for(10ms);  // later: one early wake-up, then set again
      CHECK(io.now() - t0 >= 10ms);
      CHECK(io.now() - t0 < 10s);
      for (int i = 0; i < 3; ++i) {  // after each expiry, the next deadline is set
        t0 = io.now();
        co_await sleep_for(2ms);
        CHECK(io.now() - t0 >= 2ms);
      }
      s.cancel();
    });
  }(io));
}

TEST_CASE("virtual time jumps over idle periods while sockets wait") {
  io_context io({.virtual_time = true});
  io.run([](io_context& io) -> task<void> {
    auto l = tcp_listener::bind(io, endpoint::parse("127.0.0.1:0"));
    task_scope scope{co_await this_context()};
    scope.spawn([](tcp_listener& l) -> task<void> { (void)co_await l.accept(); }(l));
    const auto start = io.now();
    co_await sleep_for(24h);  // the pending accept does not stop the clock
    CHECK(io.now() - start == 24h);
    CHECK(io.pending_operations() == 1);
    scope.cancel();
    co_await scope.join();
  }(io));
}
