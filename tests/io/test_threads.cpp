// io_contexts on several threads: independent loops, echo across threads,
// SO_REUSEPORT accept sharding, cross-thread wake-ups through post().
#include <netaio/core.hpp>
#include <netaio/io.hpp>

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/fd_count.hpp"

using namespace netaio;
using namespace std::chrono_literals;

#include "io_support.hpp"

using test::echo_one;
namespace {

task<int> echo_client(io_context& io, endpoint to, int id, int rounds) {
  auto c = co_await tcp_stream::connect(io, to);
  int ok = 0;
  for (int i = 0; i < rounds; ++i) {
    std::string msg = "client " + std::to_string(id) + " round " + std::to_string(i);
    co_await c.write_all(msg);
    std::string got(msg.size(), '\0');
    co_await c.read_exact(got);
    ok += got == msg;
  }
  co_return ok;
}

}  // namespace

TEST_CASE("echo server and client on different threads") {
  test::fd_baseline fds;
  std::promise<endpoint> bound;
  auto server = std::thread([&] {
    io_context io;
    io.run([](io_context& io, std::promise<endpoint>& bound) -> task<void> {
      auto l = tcp_listener::bind(io, endpoint::parse("127.0.0.1:0"));
      bound.set_value(l.local_endpoint());
      task_scope scope{co_await this_context()};
      for (int i = 0; i < 4; ++i)
        scope.spawn(echo_one(co_await l.accept()));
      co_await scope.join();
    }(io, bound));
  });
  const endpoint at = bound.get_future().get();
  int ok = 0;
  {
    io_context io;
    ok = io.run([](io_context& io, endpoint at) -> task<int> {
      auto r = co_await when_all(echo_client(io, at, 0, 50), echo_client(io, at, 1, 50),
                                 echo_client(io, at, 2, 50), echo_client(io, at, 3, 50));
      co_return std::get<0>(r) + std::get<1>(r) + std::get<2>(r) + std::get<3>(r);
    }(io, at));
  }
  server.join();
  CHECK(ok == 200);
  CHECK(fds.delta() == 0);
}

TEST_CASE("several io_contexts on several threads are independent") {
  test::fd_baseline fds;
  constexpr int threads = 4;
  std::array<int, threads> results{};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([t, &results] {
      io_context io;
      results[static_cast<std::size_t>(t)] = io.run([](io_context& io, int t) -> task<int> {
        auto l = tcp_listener::bind(io, endpoint::parse("127.0.0.1:0"));
        task_scope scope{co_await this_context()};
        scope.spawn(
            [](tcp_listener& l) -> task<void> { co_await echo_one(co_await l.accept()); }(l));
        int ok = co_await echo_client(io, l.local_endpoint(), t, 200);
        co_await scope.join();
        co_return ok;
      }(io, t));
    });
  }
  for (auto& th : pool)
    th.join();
  for (int r : results)
    CHECK(r == 200);
  CHECK(fds.delta() == 0);
}

TEST_CASE("SO_REUSEPORT shards accepts across listeners on several threads") {
#if !defined(SO_REUSEPORT)
  MESSAGE("skipped: no SO_REUSEPORT here (Windows has no port sharing that spreads accepts)");
  return;
#endif
  test::fd_baseline fds;
  constexpr int shards = 2;
  constexpr int connections = 64;
  // Reserve a port: the first listener picks it, the others share it.
  std::promise<endpoint> first_bound;
  std::shared_future<endpoint> port = first_bound.get_future().share();
  std::array<std::promise<void>, shards> ready;
  std::array<io_context*, shards> contexts{};
  std::array<task_scope*, shards> scopes{};
  std::array<std::atomic<int>, shards> accepted{};
  std::vector<std::thread> servers;
  // event_loop::post() wakes the loop after releasing its lock, so a loop
  // must outlive the post() call even once the posted function ran
  // (see /work/briefs/io-requests.md); the shards wait for this.
  std::promise<void> posting_done;
  std::shared_future<void> posted = posting_done.get_future().share();
  for (int i = 0; i < shards; ++i) {
    servers.emplace_back([&, i, posted] {
      io_context io;
      contexts[static_cast<std::size_t>(i)] = &io;
      io.run([](io_context& io, int i, std::promise<endpoint>& first,
                std::shared_future<endpoint> port, std::promise<void>& ready,
                task_scope*& scope_out,
                std::atomic<int>& count) -> task<void> {
        const endpoint at = i == 0 ? endpoint::parse("127.0.0.1:0") : port.get();
        auto l = tcp_listener::bind(io, at, {.reuse_port = true});
        if (i == 0) first.set_value(l.local_endpoint());
        task_scope scope{co_await this_context()};
        scope_out = &scope;
        scope.spawn([](tcp_listener& l, task_scope& scope, std::atomic<int>& count) -> task<void> {
          for (;;) {
            auto s = co_await l.accept();
            count.fetch_add(1);
            scope.spawn(echo_one(std::move(s)));
          }
        }(l, scope, count));
        ready.set_value();
        co_await scope.join();  // until another thread posts a cancel
      }(io, i, first_bound, port, ready[static_cast<std::size_t>(i)],
                                         scopes[static_cast<std::size_t>(i)],
                                         accepted[static_cast<std::size_t>(i)]));
      posted.wait();
    });
  }
  for (auto& r : ready)
    r.get_future().get();
  const endpoint at = port.get();
  int ok = 0;
  {
    io_context io;
    ok = io.run([](io_context& io, endpoint at) -> task<int> {
      int ok = 0;
      for (int i = 0; i < connections; ++i)
        ok += co_await echo_client(io, at, i, 1);
      co_return ok;
    }(io, at));
  }
  CHECK(ok == connections);
  // Stop each shard from this thread: post() is the thread-safe way in.
  for (int i = 0; i < shards; ++i) {
    task_scope* s = scopes[static_cast<std::size_t>(i)];
    contexts[static_cast<std::size_t>(i)]->post([s] { s->cancel(); });
  }
  posting_done.set_value();
  for (auto& th : servers)
    th.join();
  int total = 0;
  for (auto& a : accepted)
    total += a.load();
  CHECK(total == connections);
  CHECK(fds.delta() == 0);
}

TEST_CASE("post() from another thread wakes a loop blocked in its backend") {
  io_context io;
  std::atomic<async_event*> event{nullptr};
  std::thread other([&] {
    async_event* ev = nullptr;
    while ((ev = event.load()) == nullptr)
      std::this_thread::yield();
    // The loop has nothing else to do: only this post can wake it.
    io.post([ev] { ev->set(); });
  });
  bool woke = io.run([](std::atomic<async_event*>& event) -> task<bool> {
    async_event ev;
    event.store(&ev);
    co_await ev.wait();
    co_return true;
  }(event));
  other.join();
  CHECK(woke);
}

// Each post() wakes the loop unless a wake is already pending; the loop
// clears that flag when it takes the wake-up. Posts from several threads
// land at every point of that hand-over, and one that lands between the
// flag and the drain must not be lost (or every later wake with it). A lost
// wake-up hangs this test (meson's timeout then reports it): the loop has
// no timer that would wake it otherwise.
TEST_CASE("posts from several threads at full speed never lose a wake-up") {
  static constexpr int threads = 2;
  static constexpr int per_thread = 20'000;
  for (int round = 0; round < 3; ++round) {
    io_context io;
    std::atomic<async_event*> event{nullptr};
    int count = 0;  // loop thread only
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        async_event* ev = nullptr;
        while ((ev = event.load()) == nullptr)
          std::this_thread::yield();
        for (int i = 0; i < per_thread; ++i) {
          io.post([&count, ev] {
            if (++count == threads * per_thread) ev->set();
          });
          // Now and then let the loop drain and go back to sleep.
          if (i % 64 == 0) std::this_thread::yield();
        }
      });
    }
    io.run([](std::atomic<async_event*>& event) -> task<void> {
      async_event ev;
      event.store(&ev);
      co_await ev.wait();
    }(event));
    for (auto& th : pool)
      th.join();
    CHECK(count == threads * per_thread);
  }
}
