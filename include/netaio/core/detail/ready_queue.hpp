// The loop's FIFO of coroutines ready to resume: a growable ring buffer, so a
// steady state allocates nothing.
#pragma once

#include <coroutine>
#include <cstddef>
#include <memory>
#include <utility>

namespace netaio::inline v0::detail {

class ready_queue {
 public:
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  void push(std::coroutine_handle<> h) {
    if (size_ == capacity_) grow();
    ring_[(head_ + size_) & (capacity_ - 1)] = h;
    ++size_;
  }
  std::coroutine_handle<> pop() noexcept {
    std::coroutine_handle<> h = ring_[head_];
    head_ = (head_ + 1) & (capacity_ - 1);
    --size_;
    return h;
  }

 private:
  void grow() {
    std::size_t cap = capacity_ == 0 ? 64 : capacity_ * 2;
    auto ring = std::make_unique<std::coroutine_handle<>[]>(cap);
    for (std::size_t i = 0; i < size_; ++i)
      ring[i] = ring_[(head_ + i) & (capacity_ - 1)];
    ring_ = std::move(ring);
    capacity_ = cap;
    head_ = 0;
  }

  std::unique_ptr<std::coroutine_handle<>[]> ring_;
  std::size_t capacity_ = 0;  // a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace netaio::inline v0::detail
