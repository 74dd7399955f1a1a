// Test helpers: run a task on a fresh loop with virtual time, and measure
// the virtual time that passes.
#pragma once

#include <netaio/core.hpp>

#include <chrono>
#include <utility>

namespace test {

using namespace std::chrono_literals;

/// Runs `t` on a new virtual-time loop; time starts at zero.
template <class T>
T run_virtual(netaio::task<T> t) {
  netaio::event_loop loop({.virtual_time = true});
  return loop.run(std::move(t));
}

/// Virtual time since the loop started (loops start at zero).
inline auto elapsed(const netaio::event_loop& loop) {
  return loop.now().time_since_epoch();
}

/// Counts live instances; a destructor counter for proving frames were destroyed.
struct lifetime_counter {
  static inline int alive = 0;
  lifetime_counter() { ++alive; }
  lifetime_counter(const lifetime_counter&) { ++alive; }
  ~lifetime_counter() { --alive; }
};

}  // namespace test
