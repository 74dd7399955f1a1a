// async_event: a manual-reset event tasks can wait on.
#pragma once

#include <netaio/core/detail/wait_op.hpp>

namespace netaio::inline v0 {

/// Once set, every waiter resumes and later waits complete at once, until
/// reset(). Waits are cancellable. Single loop thread.
class async_event {
 public:
  class awaiter;

  explicit async_event(bool initially_set = false) noexcept : set_(initially_set) {}
  async_event(const async_event&) = delete;
  async_event& operator=(const async_event&) = delete;
  ~async_event() {
    if (head_ != nullptr) detail::fatal("async_event destroyed while tasks wait on it");
  }

  /// Wakes every waiter; idempotent.
  void set() noexcept;
  void reset() noexcept { set_ = false; }
  bool is_set() const noexcept { return set_; }
  /// Waits until set (a cancellation checkpoint even when already set).
  awaiter wait() noexcept;

 private:
  awaiter* head_ = nullptr;
  bool set_;
};

class async_event::awaiter : private detail::wait_op {
 public:
  explicit awaiter(async_event& ev) noexcept : event_(&ev) {}
  // Movable until awaited (e.g. into with_timeout's task), never after.
  awaiter(awaiter&&) = default;
  awaiter& operator=(awaiter&&) = delete;
  ~awaiter() { abandon(); }
  bool await_ready() const noexcept { return false; }
  template <detail::netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (!bind(h, &on_cancel)) return true;
    if (event_->set_) {
      finish_inline();
      return false;
    }
    next_ = event_->head_;
    if (next_ != nullptr) next_->prev_ = this;
    event_->head_ = this;
    return true;
  }
  void await_resume() const { check(); }

 private:
  friend class async_event;
  void unlink() noexcept {
    if (prev_ != nullptr) {
      prev_->next_ = next_;
    } else {
      event_->head_ = next_;
    }
    if (next_ != nullptr) next_->prev_ = prev_;
    prev_ = next_ = nullptr;
  }
  static void on_cancel(detail::wait_op* op) noexcept { static_cast<awaiter*>(op)->unlink(); }

  async_event* event_;
  awaiter* prev_ = nullptr;
  awaiter* next_ = nullptr;
};

inline void async_event::set() noexcept {
  set_ = true;
  while (head_ != nullptr) {
    awaiter* w = head_;
    w->unlink();
    w->complete();
  }
}

inline async_event::awaiter async_event::wait() noexcept {
  return awaiter{*this};
}

}  // namespace netaio::inline v0
