#include <netaio/core.hpp>

#include <doctest/doctest.h>

#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/counting_new.hpp"
#include "support/run.hpp"

using namespace netaio;
using namespace std::chrono_literals;

namespace {

task<int> value(int v) {
  co_return v;
}
task<void> nothing() {
  co_return;
}
task<int> fails() {
  throw std::runtime_error("boom");
  co_return 0;
}

int global_slot = 7;
task<int&> reference() {
  co_return global_slot;
}

task<std::string> move_only_chain() {
  std::string s = "a";
  s += std::to_string(co_await value(1));
  co_await nothing();
  s += std::to_string(co_await value(2));
  co_return s;
}

}  // namespace

TEST_CASE("a task is lazy: its body runs only when awaited") {
  bool ran = false;
  auto body = [&]() -> task<void> {
    ran = true;
    co_return;
  };
  auto t = body();
  CHECK_FALSE(ran);
  test::run_virtual(std::move(t));
  CHECK(ran);
}

TEST_CASE("task<T>, task<void> and task<T&> hand back their results in order") {
  CHECK(test::run_virtual(move_only_chain()) == "a12");
  auto outer = []() -> task<bool> {
    int& r = co_await reference();
    r = 9;
    co_return &r == &global_slot;
  };
  CHECK(test::run_virtual(outer()));
  CHECK(global_slot == 9);
}

TEST_CASE("an exception propagates to the awaiter, through several levels") {
  auto middle = []() -> task<int> { co_return co_await fails() + 1; };
  auto top = [&]() -> task<std::string> {
    try {
      co_await middle();
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  CHECK(test::run_virtual(top()) == "boom");
  CHECK_THROWS_WITH_AS(test::run_virtual(fails()), "boom", std::runtime_error);
}

TEST_CASE("a million sequential awaits of synchronously completing tasks do not grow the stack") {
  // With recursion each await would add a frame; a million would overflow an
  // 8 MiB stack (more so under ASan). Constant depth is what passes.
  auto loop_body = []() -> task<long> {
    long sum = 0;
    for (int i = 0; i < 1'000'000; ++i)
      sum += co_await value(1);
    co_return sum;
  };
  CHECK(test::run_virtual(loop_body()) == 1'000'000);
}

TEST_CASE("a task that is never awaited is destroyed without running; frames are counted") {
  const long before = live_task_frames();
  {
    test::lifetime_counter::alive = 0;
    auto body = []() -> task<void> {
      test::lifetime_counter c;
      co_return;
    };
    auto t = body();
    CHECK(live_task_frames() == before + 1);
  }
  CHECK(live_task_frames() == before);
  CHECK(test::lifetime_counter::alive == 0);
}

TEST_CASE("task is move-only and a moved-from task is empty") {
  auto t = value(3);
  auto u = std::move(t);
  CHECK_FALSE(t.valid());
  CHECK(u.valid());
  static_assert(!std::is_copy_constructible_v<task<int>>);
  static_assert(std::is_nothrow_move_constructible_v<task<int>>);
  CHECK(test::run_virtual(std::move(u)) == 3);
}

TEST_CASE("this_context and current_loop name the running task's loop") {
  event_loop loop({.virtual_time = true});
  auto body = [&]() -> task<bool> {
    event_loop& l = co_await current_loop();
    task_context& ctx = co_await this_context();
    co_return &l == &loop&& ctx.loop == &loop && !ctx.token.cancelled();
  };
  CHECK(loop.run(body()));
}

namespace {

task<int> plus_one(int v) {
  co_return v + 1;
}

// A frame past the pool's largest class (2 KiB): the heap's, as before.
task<int> large_frame(int v) {
  std::array<int, 1024> a{};
  a[static_cast<std::size_t>(v) % a.size()] = v;
  co_await yield();
  co_return a[static_cast<std::size_t>(v) % a.size()] + 1;
}

}  // namespace

TEST_CASE("task frames are recycled: awaiting tasks in a loop allocates nothing after the first") {
  event_loop loop;
  const long frames = live_task_frames();
  loop.run([]() -> task<void> {
    int sum = co_await plus_one(0);  // the first frame of its size comes from the heap
    const std::size_t before = test::allocations.load();
    for (int i = 0; i < 1000; ++i)
      sum += co_await plus_one(i);
    CHECK(sum == 1 + 1000 * 1001 / 2);
#if NETAIO_TEST_COUNT_ALLOCATIONS && !NETAIO_NO_FRAME_POOL
    CHECK(test::allocations.load() == before);
#else
    (void)before;  // sanitizers: frames go to the heap, and nothing counts
#endif
    for (int i = 0; i < 10; ++i)
      CHECK(co_await large_frame(i) == i + 1);
  }());
  CHECK(live_task_frames() == frames);
}

TEST_CASE("spawn and join in a scope allocate nothing once warm (the README's promise)") {
  event_loop loop;
  loop.run([]() -> task<void> {
    task_scope scope{co_await this_context()};
    const auto round = [&scope]() -> task<void> {
      for (int i = 0; i < 100; ++i)
        scope.spawn(plus_one(i));
      co_await scope.join();
    };
    co_await round();  // frames and child records come from the heap once
    const std::size_t before = test::allocations.load();
    for (int r = 0; r < 10; ++r)
      co_await round();
#if NETAIO_TEST_COUNT_ALLOCATIONS && !NETAIO_NO_FRAME_POOL
    CHECK(test::allocations.load() == before);
#else
    (void)before;
#endif
  }());
}
