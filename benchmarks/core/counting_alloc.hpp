// A counting global allocator for the benchmarks (counting_alloc.cpp replaces
// the global operator new/delete): every operator new on a thread bumps that
// thread's counter, so a benchmark reads how many allocations its loop made.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace netaio_bench {

inline thread_local std::uint64_t allocations = 0;

/// Allocations made by this thread so far.
inline std::uint64_t allocs() noexcept {
  return allocations;
}

/// Reports the allocations made since construction, per iteration, as the
/// counter `name`; `per` divides further (e.g. tasks per iteration).
class alloc_meter {
 public:
  alloc_meter() noexcept : start_(allocs()) {}
  void report(benchmark::State& state, const char* name = "allocs_per_op", double per = 1) const {
    const double n = static_cast<double>(allocs() - start_) / per;
    state.counters[name] = benchmark::Counter(n, benchmark::Counter::kAvgIterations);
  }

 private:
  std::uint64_t start_;
};

inline void* counted_alloc(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}

inline void* counted_alloc(std::size_t n, std::align_val_t al) {
  ++allocations;
  const auto a = static_cast<std::size_t>(al);
  const std::size_t size = (n + a - 1) / a * a;
  if (void* p = std::aligned_alloc(a, size != 0 ? size : a)) return p;
  throw std::bad_alloc();
}

}  // namespace netaio_bench
