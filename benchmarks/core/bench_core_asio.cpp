// The same spawn+join and ready-await workloads on standalone Asio's
// co_spawn + asio::awaitable, for the ratio. A join is the idiomatic one: each
// child's completion handler counts down and the last one wakes the parent
// through a timer used as an event.
#include "counting_alloc.hpp"

#include <benchmark/benchmark.h>
#include <asio.hpp>

#include <cstdint>
#include <exception>
#include <tuple>

namespace {

using netaio_bench::alloc_meter;

asio::awaitable<void> noop() {
  co_return;
}

asio::awaitable<int> ready_value(int v) {
  co_return v;
}

asio::awaitable<void> spawn_join_body(benchmark::State& state, std::int64_t batch) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer done(ex, asio::steady_timer::time_point::max());
  std::int64_t pending = 0;
  alloc_meter meter;
  for (auto _ : state) {
    pending = batch;
    for (std::int64_t i = 0; i < batch; ++i) {
      asio::co_spawn(ex, noop(), [&](std::exception_ptr) {
        if (--pending == 0) done.cancel();
      });
    }
    if (pending > 0) {
      std::error_code ec;
      co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  meter.report(state, "allocs_per_task", static_cast<double>(batch));
  state.SetItemsProcessed(state.iterations() * batch);
}

void asio_spawn_join(benchmark::State& state) {
  asio::io_context io(1);
  asio::co_spawn(io, spawn_join_body(state, state.range(0)), asio::detached);
  io.run();
}
BENCHMARK(asio_spawn_join)->Arg(1)->Arg(1000);

asio::awaitable<void> await_ready_body(benchmark::State& state) {
  alloc_meter meter;
  int sum = 0;
  for (auto _ : state) {
    sum += co_await ready_value(1);
    benchmark::DoNotOptimize(sum);
  }
  meter.report(state);
}

void asio_await_ready(benchmark::State& state) {
  asio::io_context io(1);
  asio::co_spawn(io, await_ready_body(state), asio::detached);
  io.run();
}
BENCHMARK(asio_await_ready);

}  // namespace
