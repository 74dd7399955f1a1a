// The loop's FIFO of coroutines ready to resume: a growable ring buffer, so a
// steady state allocates nothing.
#pragma once

#include <netaio/core/task_context.hpp>

#include <coroutine>
#include <cstddef>
#include <memory>
#include <utility>

namespace netaio::inline v0::detail {

/// A coroutine to resume and the context of the task it belongs to.
struct ready_item {
  std::coroutine_handle<> handle;
  task_context* context = nullptr;
};

class ready_queue {
 public:
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  void push(ready_item item) {
    if (size_ == capacity_) grow();
    ring_[(head_ + size_) & (capacity_ - 1)] = item;
    ++size_;
  }
  ready_item pop() noexcept {
    ready_item item = ring_[head_];
    head_ = (head_ + 1) & (capacity_ - 1);
    --size_;
    return item;
  }
  /// Blanks every entry for which `pred(item)` holds (a cold path: used
  /// when frames are destroyed at the end of a stop's grace period).
  template <class Pred>
  void blank_if(Pred pred) noexcept {
    for (std::size_t i = 0; i < size_; ++i) {
      ready_item& it = ring_[(head_ + i) & (capacity_ - 1)];
      if (it.handle && pred(it)) it = ready_item{};
    }
  }

 private:
  void grow() {
    std::size_t cap = capacity_ == 0 ? 64 : capacity_ * 2;
    auto ring = std::make_unique<ready_item[]>(cap);
    for (std::size_t i = 0; i < size_; ++i)
      ring[i] = ring_[(head_ + i) & (capacity_ - 1)];
    ring_ = std::move(ring);
    capacity_ = cap;
    head_ = 0;
  }

  std::unique_ptr<ready_item[]> ring_;
  std::size_t capacity_ = 0;  // a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace netaio::inline v0::detail
