// Cross-thread use of a loop: post() from other threads, and cancellation
// requested from another thread (marshalled onto the loop through post()).
#include <netaio/core.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

using namespace netaio;
using namespace std::chrono_literals;

TEST_CASE("many threads post to one loop; every call runs on the loop thread") {
  event_loop loop;
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  long counter = 0;  // only the loop thread touches it
  std::thread::id loop_thread;
  bool all_on_loop = true;
  async_event done;
  auto body = [&]() -> task<void> {
    loop_thread = std::this_thread::get_id();
    std::vector<std::jthread> posters;
    for (int t = 0; t < threads; ++t) {
      posters.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i) {
          loop.post([&] {
            all_on_loop = all_on_loop && std::this_thread::get_id() == loop_thread;
            if (++counter == threads * per_thread) done.set();
          });
        }
      });
    }
    co_await done.wait();
    for (auto& p : posters)
      p.join();
  };
  loop.run(body());
  CHECK(counter == threads * per_thread);
  CHECK(all_on_loop);
}

TEST_CASE("cancellation requested from another thread stops blocked tasks") {
  event_loop loop;  // real time: the other thread is real
  std::atomic<int> cancelled{0};
  auto blocked = [&]() -> task<void> {
    try {
      co_await sleep_for(24h);
    } catch (const operation_cancelled&) {
      cancelled.fetch_add(1);
      throw;
    }
  };
  auto body = [&]() -> task<void> {
    task_scope scope{loop};
    for (int i = 0; i < 100; ++i)
      scope.spawn(blocked());
    std::jthread canceller([&] { loop.post([&] { scope.cancel(); }); });
    co_await scope.join();
  };
  loop.run(body());
  CHECK(cancelled.load() == 100);
}

TEST_CASE("independent loops on independent threads") {
  std::vector<long> results(4);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        event_loop loop({.virtual_time = true});
        auto body = [&]() -> task<long> {
          long sum = 0;
          task_scope s{loop};
          for (int i = 0; i < 1000; ++i) {
            auto add = [](long& acc, int v) -> task<void> {
              co_await sleep_for(std::chrono::milliseconds(v % 10));
              acc += v;
            };
            s.spawn(add(sum, i));
          }
          co_await s.join();
          co_return sum + t;
        };
        results[t] = loop.run(body());
      });
    }
  }
  for (int t = 0; t < 4; ++t)
    CHECK(results[t] == 499500 + t);
}

namespace {
task<int> frame_to_move(int v) {
  co_await yield();
  co_return v;
}
}  // namespace

TEST_CASE(
    "a task frame made on one thread is freed on another; a thread's idle frames end with it") {
  // Each thread keeps its own idle frames: a frame freed on another thread
  // joins that thread's, and a thread that ends gives its own back.
  const long frames = live_task_frames();
  std::optional<task<int>> made_there;
  std::thread([&made_there] {
    event_loop loop;
    CHECK(loop.run([]() -> task<int> {
      int sum = 0;
      for (int i = 0; i < 100; ++i)
        sum += co_await frame_to_move(i);
      co_return sum;
    }()) == 4950);
    made_there.emplace(frame_to_move(7));  // not started
  }).join();
  event_loop loop;
  CHECK(loop.run(std::move(*made_there)) == 7);  // run and freed on this thread
  made_there.reset();
  CHECK(live_task_frames() == frames);
}
