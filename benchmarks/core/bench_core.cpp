// Runtime micro-benchmarks: spawn+join, awaiting a ready task, timers,
// deadlines and cancellation registration, each with its allocations per
// operation (the counting allocator replaces the global operator new). The
// Asio counterparts live in bench_core_asio.cpp, in this same executable.
#include "counting_alloc.hpp"

#include <netaio/core.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

using namespace netaio;
using netaio_bench::alloc_meter;
using netaio_bench::allocs;

namespace {

using namespace std::chrono_literals;

task<> noop() {
  co_return;
}

task<int> ready_value(int v) {
  co_return v;
}

// --- spawn + join ---------------------------------------------------------

task<> spawn_join_body(benchmark::State& state, std::int64_t batch) {
  task_context& ctx = co_await this_context();
  alloc_meter meter;
  for (auto _ : state) {
    task_scope scope(ctx);
    for (std::int64_t i = 0; i < batch; ++i)
      scope.spawn(noop());
    co_await scope.join();
  }
  meter.report(state, "allocs_per_task", static_cast<double>(batch));
  state.SetItemsProcessed(state.iterations() * batch);
}

void netaio_spawn_join(benchmark::State& state) {
  event_loop loop;
  loop.run(spawn_join_body(state, state.range(0)));
}
BENCHMARK(netaio_spawn_join)->Arg(1)->Arg(1000);

// --- co_await of a ready task ----------------------------------------------

task<> await_ready_body(benchmark::State& state) {
  alloc_meter meter;
  int sum = 0;
  for (auto _ : state) {
    sum += co_await ready_value(1);
    benchmark::DoNotOptimize(sum);
  }
  meter.report(state);
}

void netaio_await_ready(benchmark::State& state) {
  event_loop loop;
  loop.run(await_ready_body(state));
}
BENCHMARK(netaio_await_ready);

// --- with_timeout around a ready task --------------------------------------

task<> with_timeout_body(benchmark::State& state) {
  alloc_meter meter;
  std::uint64_t deadline_allocs = 0;
  int sum = 0;
  for (auto _ : state) {
    task<int> t = ready_value(1);  // the user's own allocation
    const std::uint64_t before = allocs();
    sum += co_await with_timeout(1s, std::move(t));
    deadline_allocs += allocs() - before;
    benchmark::DoNotOptimize(sum);
  }
  meter.report(state);
  state.counters["deadline_allocs_per_op"] =
      benchmark::Counter(static_cast<double>(deadline_allocs), benchmark::Counter::kAvgIterations);
}

void netaio_with_timeout_ready(benchmark::State& state) {
  event_loop loop;
  loop.run(with_timeout_body(state));
}
BENCHMARK(netaio_with_timeout_ready);

// --- cancel_callback registration --------------------------------------------

void netaio_cancel_callback(benchmark::State& state) {
  cancel_source source;
  // A few registrations already there, as on a busy scope.
  int runs = 0;
  cancel_callback a{source.token(), [&] { ++runs; }};
  cancel_callback b{source.token(), [&] { ++runs; }};
  alloc_meter meter;
  for (auto _ : state) {
    cancel_callback cb{source.token(), [&] { ++runs; }};
    benchmark::DoNotOptimize(&cb);
  }
  meter.report(state);
  benchmark::DoNotOptimize(runs);
}
BENCHMARK(netaio_cancel_callback);

// --- timers -----------------------------------------------------------------

// `count` timers far in the future with pseudo-random deadlines.
std::vector<detail::timer_node> far_timers(std::size_t count, detail::loop_time base) {
  std::vector<detail::timer_node> nodes(count);
  std::mt19937_64 rng(42);
  for (auto& n : nodes) {
    n.deadline = base + 1h + std::chrono::nanoseconds(rng() % 3'600'000'000'000ULL);
    n.fire = [](detail::timer_node*) noexcept {};
  }
  return nodes;
}

void timer_queue_insert_cancel(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  const auto base = detail::loop_clock::now();
  auto nodes = far_timers(pending, base);
  detail::timer_queue q;
  for (auto& n : nodes)
    q.push(&n);
  // Deadlines of the inserted timer, spread over the pending ones.
  auto probes = far_timers(4096, base);
  std::size_t i = 0;
  alloc_meter meter;
  for (auto _ : state) {
    detail::timer_node& n = probes[i++ & 4095];
    q.push(&n);
    q.erase(&n);
  }
  meter.report(state);
  for (auto& n : nodes)
    q.erase(&n);
}
BENCHMARK(timer_queue_insert_cancel)->Arg(1)->Arg(1'000'000);

// Request timeouts as a server sees them: every operation arms a timeout
// later than all pending ones and cancels the oldest (its reply came), so the
// cancel takes the heap's root path — the O(log n) case.
void timer_queue_rolling(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  std::vector<detail::timer_node> nodes(pending);
  detail::timer_queue q;
  auto deadline = detail::loop_clock::now() + 1h;
  for (auto& n : nodes) {
    n.deadline = deadline += 1us;
    n.fire = [](detail::timer_node*) noexcept {};
    q.push(&n);
  }
  std::size_t oldest = 0;
  alloc_meter meter;
  for (auto _ : state) {
    detail::timer_node& n = nodes[oldest];
    q.erase(&n);
    n.deadline = deadline += 1us;
    q.push(&n);
    if (++oldest == pending) oldest = 0;
  }
  meter.report(state);
  for (auto& n : nodes)
    q.erase(&n);
}
BENCHMARK(timer_queue_rolling)->Arg(1)->Arg(1'000'000);

task<> sleeper(async_event& started) {
  started.set();
  co_await sleep_for(1h);
}

task<> sleep_cancel_body(benchmark::State& state) {
  task_context& ctx = co_await this_context();
  async_event started;
  std::uint64_t cancel_allocs = 0;
  alloc_meter meter;
  for (auto _ : state) {
    task_scope scope(ctx);
    scope.spawn(sleeper(started));  // the one frame allocation
    co_await started.wait();        // the sleeper now waits on its timer
    started.reset();
    const std::uint64_t before = allocs();
    scope.cancel();
    co_await scope.join();
    cancel_allocs += allocs() - before;
  }
  meter.report(state);
  state.counters["cancel_allocs_per_op"] =
      benchmark::Counter(static_cast<double>(cancel_allocs), benchmark::Counter::kAvgIterations);
}

// Spawns a task that sleeps, cancels it and joins: timer insert and erase
// through sleep_for, among `pending` other timers on the loop.
void netaio_sleep_for_cancel(benchmark::State& state) {
  event_loop loop;
  auto nodes = far_timers(static_cast<std::size_t>(state.range(0)), loop.now());
  for (auto& n : nodes)
    loop.timers().push(&n);
  loop.run(sleep_cancel_body(state));
  for (auto& n : nodes)
    loop.timers().erase(&n);
}
BENCHMARK(netaio_sleep_for_cancel)->Arg(1)->Arg(1'000'000);

}  // namespace

int main(int argc, char** argv) {
#if !defined(NDEBUG)
  std::fprintf(stderr, "bench_core: assertions are on (build with -Db_ndebug=true to measure)\n");
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
