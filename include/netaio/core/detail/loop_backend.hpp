// What the loop needs from a platform: a way to block until I/O is ready or
// another thread wakes it. The io layer supplies epoll/kqueue/IOCP backends;
// the core's own is a condition variable (no I/O at all).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace netaio::inline v0::detail {

/// A time on the loop's clock (detail::loop_time).
using loop_deadline = std::chrono::time_point<std::chrono::steady_clock, std::chrono::nanoseconds>;

class loop_backend {
 public:
  /// Blocks for at most `timeout` (zero: just poll; negative: no limit) until
  /// I/O is ready or wake() is called; schedules the tasks whose I/O became
  /// ready on the loop. Returns nonzero when I/O made progress (a task
  /// scheduled, or an operation that moved bytes without finishing): only
  /// a zero lets a virtual clock take the turn for an idle one.
  virtual std::size_t wait(std::chrono::nanoseconds timeout) = 0;
  /// wait() until `deadline` of the loop's clock, which read `now` last:
  /// for a backend that can wait for a deadline of that clock without
  /// reading it again (epoll's timerfd).
  virtual std::size_t wait_until(loop_deadline deadline, loop_deadline now) {
    return wait(deadline > now ? deadline - now : std::chrono::nanoseconds::zero());
  }
  /// Interrupts a wait(), from any thread.
  virtual void wake() noexcept = 0;

 public:
  virtual ~loop_backend() = default;
};

class condvar_backend final : public loop_backend {
 public:
  std::size_t wait(std::chrono::nanoseconds timeout) override {
    std::unique_lock lock(mutex_);
    if (timeout.count() < 0) {
      cv_.wait(lock, [&] { return woken_; });
    } else if (timeout.count() > 0) {
      cv_.wait_for(lock, timeout, [&] { return woken_; });
    }
    woken_ = false;
    return 0;
  }
  void wake() noexcept override {
    {
      std::lock_guard lock(mutex_);
      woken_ = true;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
};

}  // namespace netaio::inline v0::detail
