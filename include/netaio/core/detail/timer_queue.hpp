// An intrusive binary min-heap of timers: O(log n) insert and cancel, no
// allocation per timer (the node lives in the waiting operation).
#pragma once

#include <netaio/detail/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace netaio::inline v0::detail {

using loop_clock = std::chrono::steady_clock;
using loop_duration = std::chrono::nanoseconds;
using loop_time = std::chrono::time_point<loop_clock, loop_duration>;

struct timer_node {
  static constexpr std::size_t not_armed = std::numeric_limits<std::size_t>::max();
  loop_time deadline{};
  std::uint64_t seq = 0;  // equal deadlines fire in arming order
  std::size_t index = not_armed;
  void (*fire)(timer_node*) noexcept = nullptr;
  bool armed() const noexcept { return index != not_armed; }
};

class timer_queue {
 public:
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  timer_node* top() const noexcept { return heap_.front(); }

  void push(timer_node* n) {
    NETAIO_ASSERT(!n->armed(), "timer armed twice");
    n->seq = next_seq_++;
    n->index = heap_.size();
    heap_.push_back(n);
    sift_up(n->index);
  }

  /// Removes `n` if armed; harmless otherwise.
  void erase(timer_node* n) noexcept {
    if (!n->armed()) return;
    std::size_t i = n->index;
    n->index = timer_node::not_armed;
    timer_node* last = heap_.back();
    heap_.pop_back();
    if (last == n) return;
    heap_[i] = last;
    last->index = i;
    if (i > 0 && less(last, heap_[(i - 1) / 2])) {
      sift_up(i);
    } else {
      sift_down(i);
    }
  }

  /// Removes and returns the earliest timer if it is due at `now`.
  timer_node* pop_due(loop_time now) noexcept {
    if (heap_.empty() || heap_.front()->deadline > now) return nullptr;
    timer_node* n = heap_.front();
    erase(n);
    return n;
  }

 private:
  static bool less(const timer_node* a, const timer_node* b) noexcept {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
  }
  void place(std::size_t i, timer_node* n) noexcept {
    heap_[i] = n;
    n->index = i;
  }
  void sift_up(std::size_t i) noexcept {
    timer_node* n = heap_[i];
    while (i > 0) {
      std::size_t parent = (i - 1) / 2;
      if (!less(n, heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, n);
  }
  void sift_down(std::size_t i) noexcept {
    timer_node* n = heap_[i];
    const std::size_t size = heap_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && less(heap_[child + 1], heap_[child])) ++child;
      if (!less(heap_[child], n)) break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, n);
  }

  std::vector<timer_node*> heap_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace netaio::inline v0::detail
