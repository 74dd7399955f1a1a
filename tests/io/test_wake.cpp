// Cross-thread wake-ups of a loop blocked in its backend: none may be lost,
// whatever the interleaving of post() with the loop draining its wake-up.
#include <netaio/core.hpp>
#include <netaio/io/io_context.hpp>  // (only the loop: also built for Windows)

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace netaio;
using namespace std::chrono_literals;

namespace {

// Each poster posts, then waits until the loop has run that post before the
// next one, so the loop goes back to sleep between posts: every post hits a
// loop that is blocked, or just waking. A lost wake-up hangs the test.
template <class Loop>
void post_storm(Loop& loop, int threads, int posts_each) {
  std::atomic<int> ran{0};
  async_event all_ran;
  const int total = threads * posts_each;
  std::vector<std::thread> posters;
  auto body = [&]() -> task<void> {
    for (int t = 0; t < threads; ++t) {
      posters.emplace_back([&, t] {
        for (int i = 0; i < posts_each; ++i) {
          const int before = ran.load(std::memory_order_acquire);
          loop.post([&] {
            if (ran.fetch_add(1, std::memory_order_acq_rel) + 1 == total) all_ran.set();
          });
          // Wait until the loop made progress (ours or another poster's).
          while (ran.load(std::memory_order_acquire) == before)
            std::this_thread::yield();
          (void)t;
        }
      });
    }
    co_await all_ran.wait();
  };
  loop.run(body());
  for (auto& p : posters)
    p.join();
  CHECK(ran.load() == total);
}

}  // namespace

TEST_CASE("io_context: posts from threads in a tight loop are never lost") {
  io_context io;
  post_storm(io, 2, 20000);
}

TEST_CASE("event_loop: posts from threads in a tight loop are never lost") {
  event_loop loop;
  post_storm(loop, 2, 20000);
}

TEST_CASE("io_context: a cancellation posted from another thread ends a blocked scope") {
  for (int round = 0; round < 200; ++round) {
    io_context io;
    task_scope* scope_ptr = nullptr;
    std::atomic<bool> ready{false};
    std::thread canceller;
    auto body = [&]() -> task<void> {
      co_await with_scope([&](task_scope& scope) -> task<void> {
        scope_ptr = &scope;
        scope.spawn([]() -> task<void> { co_await sleep_for(1h); }, "blocked");
        canceller = std::thread([&] {
          while (!ready.load(std::memory_order_acquire))
            std::this_thread::yield();
          io.post([&] { scope_ptr->cancel(); });
        });
        ready.store(true, std::memory_order_release);
        co_return;  // with_scope now waits in epoll for the child
      });
    };
    io.run(body());
    canceller.join();
  }
}
