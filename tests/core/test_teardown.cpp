// What a stop's grace teardown must survive: a stuck child destroyed while
// it waits inside a deadline (with_timeout, move_on_after, shield) around a
// nested scope, whose grandchildren's destructors wake other tasks as they
// go. Each case ran into freed memory (ASan) before the deadline awaiter
// destroyed its inner task before its own cancel source.
#include <netaio/core.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/run.hpp"

using namespace netaio;
using namespace std::chrono_literals;

namespace {

/// Sets an event from its destructor: a wake-up issued during the teardown.
struct sets_on_exit {
  async_event* event;
  ~sets_on_exit() { event->set(); }
};

enum class around { with_timeout, move_on_after, shield };

task<void> nested_scope_stuck(async_event& never, async_event& woken) {
  co_await with_scope([&](task_scope& s) -> task<void> {
    // A sibling on each side: whichever order the frames are destroyed in,
    // one is woken after the grandchild's destructor ran and before its own
    // frame is destroyed.
    s.spawn([&]() -> task<void> { co_await shield(std::chrono::hours::max(), woken.wait()); },
            "sibling");
    s.spawn(
        [&]() -> task<void> {
          sets_on_exit guard{&woken};
          co_await shield(std::chrono::hours::max(), never.wait());
        },
        "grandchild");
    // Woken by the grandchild's destructor while both are torn down.
    s.spawn([&]() -> task<void> { co_await shield(std::chrono::hours::max(), woken.wait()); },
            "sibling");
    co_return;
  });
}

}  // namespace

TEST_CASE("a child destroyed inside a deadline around a nested scope is torn down safely") {
  for (const around kind : {around::with_timeout, around::move_on_after, around::shield}) {
    CAPTURE(static_cast<int>(kind));
    event_loop loop({.virtual_time = true});
    const long frames_before = live_task_frames();
    async_event never;
    async_event woken;
    bool watcher_woke = false;
    std::vector<std::string> stuck;
    std::chrono::nanoseconds stopped_at{-1};
    auto body = [&]() -> task<void> {
      task_scope scope{loop};
      scope.on_stuck([&](std::span<const stuck_task> s) {
        for (const auto& t : s)
          stuck.emplace_back(t.name);
      });
      scope.spawn(
          [&]() -> task<void> {
            switch (kind) {
              case around::with_timeout:
                co_await with_timeout(1000h, nested_scope_stuck(never, woken));
                break;
              case around::move_on_after:
                (void)co_await move_on_after(1000h, nested_scope_stuck(never, woken));
                break;
              case around::shield:
                co_await shield(std::chrono::hours::max(), nested_scope_stuck(never, woken));
                break;
            }
          },
          "outer");
      task_scope watcher{loop};
      watcher.spawn([&]() -> task<void> {
        co_await woken.wait();  // a task outside, woken by a destructor inside
        watcher_woke = true;
      });
      co_await sleep_for(1s);
      co_await scope.stop(2s);
      stopped_at = test::elapsed(loop);
      co_await watcher.join();
    };
    loop.run(body());
    CHECK(stopped_at == 3s);  // issued at 1 s, grace 2 s
    CHECK(stuck == std::vector<std::string>{"outer"});
    CHECK(watcher_woke);
    CHECK(loop.timers().empty());
    CHECK(live_task_frames() == frames_before);
  }
}
