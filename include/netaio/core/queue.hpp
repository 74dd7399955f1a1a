// async_queue<T>: a bounded FIFO between tasks, with backpressure.
#pragma once

#include <netaio/core/detail/wait_op.hpp>
#include <netaio/core/error.hpp>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

/// Thrown by push() on a closed queue, and by pop() on a closed, empty one.
class queue_closed : public error {
 public:
  queue_closed() : error("netaio: async_queue is closed") {}
};

/// A bounded queue: push() waits while it is full, pop() while it is empty.
/// Both waits are cancellable; a cancelled push() enqueued nothing, a
/// cancelled pop() took nothing. close() lets poppers drain what is left.
/// Single loop thread.
template <class T>
class async_queue {
 public:
  class push_awaiter;
  class pop_awaiter;

  /// `capacity` must be at least 1 (else std::invalid_argument, in every build).
  explicit async_queue(std::size_t capacity) : ring_(checked(capacity)) {}
  async_queue(const async_queue&) = delete;
  async_queue& operator=(const async_queue&) = delete;
  ~async_queue() {
    if (pushers_.head != nullptr || poppers_.head != nullptr) {
      detail::fatal("async_queue destroyed while tasks wait on it");
    }
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return ring_.size(); }
  bool closed() const noexcept { return closed_; }

  /// Enqueues without waiting; false if full (or closed).
  bool try_push(T value) { return !closed_ && try_push_inline(value); }
  /// Dequeues without waiting; empty if nothing is there.
  std::optional<T> try_pop() {
    if (size_ == 0) return std::nullopt;
    std::optional<T> v = take();
    refill_from_pusher();
    return v;
  }

  push_awaiter push(T value) { return push_awaiter{*this, std::move(value)}; }
  pop_awaiter pop() noexcept { return pop_awaiter{*this}; }

  /// No more pushes; waiting pushers and (once drained) poppers get queue_closed.
  void close() noexcept {
    closed_ = true;
    while (push_awaiter* w = pushers_.pop_front()) {
      w->closed_ = true;
      w->complete();
    }
    if (size_ == 0) {
      while (pop_awaiter* w = poppers_.pop_front())
        w->complete();
    }
  }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0)
      throw std::invalid_argument("netaio: async_queue needs a capacity of at least 1");
    return capacity;
  }

  template <class W>
  struct waiters {
    W* head = nullptr;
    W* tail = nullptr;
    void push_back(W* w) noexcept {
      w->prev_ = tail;
      w->next_ = nullptr;
      (tail != nullptr ? tail->next_ : head) = w;
      tail = w;
    }
    void remove(W* w) noexcept {
      (w->prev_ != nullptr ? w->prev_->next_ : head) = w->next_;
      (w->next_ != nullptr ? w->next_->prev_ : tail) = w->prev_;
      w->prev_ = w->next_ = nullptr;
    }
    W* pop_front() noexcept {
      W* w = head;
      if (w != nullptr) remove(w);
      return w;
    }
  };

  // A waiting popper takes `v` directly; else it goes in the ring if there is room.
  bool try_push_inline(T& v) {
    if (pop_awaiter* w = poppers_.pop_front()) {
      w->value_.emplace(std::move(v));
      w->complete();
      return true;
    }
    if (size_ == ring_.size()) return false;
    put(std::move(v));
    return true;
  }
  void put(T&& v) {
    ring_[(head_ + size_) % ring_.size()].emplace(std::move(v));
    ++size_;
  }
  std::optional<T> take() {
    std::optional<T> v = std::move(ring_[head_]);
    ring_[head_].reset();
    head_ = (head_ + 1) % ring_.size();
    --size_;
    return v;
  }
  // A slot was freed: the longest-waiting pusher fills it.
  void refill_from_pusher() {
    if (push_awaiter* w = pushers_.pop_front()) {
      put(std::move(w->value_));
      w->complete();
    }
  }

  std::vector<std::optional<T>> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  waiters<push_awaiter> pushers_;
  waiters<pop_awaiter> poppers_;
  bool closed_ = false;
};

template <class T>
class async_queue<T>::push_awaiter : private detail::wait_op {
 public:
  push_awaiter(async_queue& q, T value) : queue_(&q), value_(std::move(value)) {}
  // Movable until awaited (e.g. into with_timeout's task), never after.
  push_awaiter(push_awaiter&&) = default;
  push_awaiter& operator=(push_awaiter&&) = delete;
  ~push_awaiter() { abandon(); }
  bool await_ready() const noexcept { return false; }
  template <detail::netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (!bind(h, &on_cancel)) return true;
    if (queue_->closed_ || queue_->try_push_inline(value_)) {
      closed_ = queue_->closed_;
      finish_inline();
      return false;
    }
    queue_->pushers_.push_back(this);
    return true;
  }
  void await_resume() const {
    check();
    if (closed_) throw queue_closed{};
  }

 private:
  friend class async_queue;
  friend struct waiters<push_awaiter>;
  static void on_cancel(detail::wait_op* op) noexcept {
    auto* self = static_cast<push_awaiter*>(op);
    self->queue_->pushers_.remove(self);
  }
  async_queue* queue_;
  T value_;
  push_awaiter* prev_ = nullptr;
  push_awaiter* next_ = nullptr;
  bool closed_ = false;
};

template <class T>
class async_queue<T>::pop_awaiter : private detail::wait_op {
 public:
  explicit pop_awaiter(async_queue& q) noexcept : queue_(&q) {}
  // Movable until awaited (e.g. into with_timeout's task), never after.
  pop_awaiter(pop_awaiter&&) = default;
  pop_awaiter& operator=(pop_awaiter&&) = delete;
  ~pop_awaiter() { abandon(); }
  bool await_ready() const noexcept { return false; }
  template <detail::netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (!bind(h, &on_cancel)) return true;
    if (queue_->size_ > 0) {
      value_ = queue_->take();
      queue_->refill_from_pusher();
      finish_inline();
      return false;
    }
    if (queue_->closed_) {
      finish_inline();
      return false;
    }
    queue_->poppers_.push_back(this);
    return true;
  }
  T await_resume() {
    check();
    if (!value_) throw queue_closed{};
    return std::move(*value_);
  }

 private:
  friend class async_queue;
  friend struct waiters<pop_awaiter>;
  static void on_cancel(detail::wait_op* op) noexcept {
    auto* self = static_cast<pop_awaiter*>(op);
    self->queue_->poppers_.remove(self);
  }
  async_queue* queue_;
  std::optional<T> value_;
  pop_awaiter* prev_ = nullptr;
  pop_awaiter* next_ = nullptr;
};

}  // namespace netaio::inline v0
