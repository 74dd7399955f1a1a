// A short tour of the runtime, printed as a transcript: tasks in a scope, a
// deadline, a cancellation with shielded cleanup, and a bounded stop.
#include <netaio/netaio.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>

using namespace netaio;
using namespace std::chrono_literals;

namespace {

event_loop::time_point start;

void say(event_loop& loop, const char* what) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(loop.now() - start);
  std::printf("[%4lld ms] %s\n", static_cast<long long>(ms.count()), what);
}

task<void> worker(event_loop& loop, std::chrono::milliseconds d, const char* done) {
  co_await sleep_for(d);
  say(loop, done);
}

task<void> ticker(event_loop& loop) {
  int ticks = 0;
  try {
    for (;;) {
      co_await sleep_for(40ms);
      ++ticks;
    }
  } catch (const operation_cancelled&) {
    char line[96];
    std::snprintf(line, sizeof line, "ticker: cancelled after %d ticks; saying goodbye (shielded)",
                  ticks);
    say(loop, line);
  }
  // Cleanup that must still suspend runs shielded, with its own deadline.
  co_await shield(100ms, worker(loop, 20ms, "ticker: goodbye sent"));
  throw operation_cancelled{};
}

task<int> slow_answer() {
  co_await sleep_for(1s);
  co_return 42;
}

task<void> tour(event_loop& loop) {
  start = loop.now();
  say(loop, "spawning worker-a (300 ms), worker-b (100 ms) and a ticker into one scope");
  task_scope scope{loop};
  scope.spawn(worker(loop, 300ms, "worker-a: done"), "worker-a");
  scope.spawn(worker(loop, 100ms, "worker-b: done"), "worker-b");
  scope.spawn(ticker(loop), "ticker");

  say(loop, "awaiting a 1 s answer under with_timeout(250 ms)");
  try {
    co_await with_timeout(250ms, slow_answer());
  } catch (const timed_out&) {
    say(loop, "with_timeout: timed out, the answer's task was cancelled and destroyed");
  }
  auto fast = co_await move_on_after(250ms, worker(loop, 30ms, "a 30 ms job finished in time"));
  say(loop, fast ? "move_on_after: completed" : "move_on_after: moved on");

  co_await sleep_for(100ms);
  say(loop, "stopping the scope (grace 1 s)");
  co_await scope.stop(1s);
  char line[96];
  std::snprintf(line, sizeof line, "stopped: %zu children alive", scope.size());
  say(loop, line);
#if NETAIO_TRACK_FRAMES
  std::snprintf(line, sizeof line, "task frames alive besides this one: %ld",
                live_task_frames() - 1);
  say(loop, line);
#endif
}

}  // namespace

int main() {
  std::puts("netaio demo: the runtime");
  event_loop loop;
  try {
    loop.run(tour(loop));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "demo failed: %s\n", e.what());
    return 1;
  }
  return 0;
}
