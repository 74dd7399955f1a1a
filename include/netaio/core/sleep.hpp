// sleep_for / sleep_until / yield: cancellable waits on the loop's clock.
#pragma once

#include <netaio/core/detail/timer_queue.hpp>
#include <netaio/core/detail/wait_op.hpp>
#include <netaio/core/event_loop.hpp>

#include <chrono>

namespace netaio::inline v0 {

namespace detail {

inline loop_time saturating_add(loop_time t, loop_duration d) noexcept {
  if (d > loop_time::max() - t) return loop_time::max();
  return t + d;
}

/// Any duration as the loop's, saturating: hours::max() or 300 years mean
/// "as long as the clock can say", never a negative overflow.
template <class Rep, class Period>
loop_duration to_limit(std::chrono::duration<Rep, Period> d) noexcept {
  using big = std::chrono::duration<long double, std::nano>;
  if (big(d) >= big(loop_duration::max())) return loop_duration::max();
  if (d <= d.zero()) return loop_duration::zero();
  return std::chrono::duration_cast<loop_duration>(d);
}

class sleep_awaiter : private wait_op, private timer_node {
 public:
  /// A relative sleep resolves its deadline against the loop's clock when it
  /// starts (the loop is only known then).
  sleep_awaiter(loop_time deadline, loop_duration delay, bool relative) noexcept
      : delay_(delay), relative_(relative) {
    this->deadline = deadline;
  }
  // Movable until awaited (e.g. into with_timeout's task), never after.
  sleep_awaiter(sleep_awaiter&&) = default;
  sleep_awaiter& operator=(sleep_awaiter&&) = delete;
  ~sleep_awaiter() { abandon(); }

  bool await_ready() const noexcept { return false; }
  template <netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (!bind(h, &on_cancel)) return true;
    event_loop& l = loop();
    if (relative_) deadline = saturating_add(l.now(), delay_);
    fire = &on_fire;
    l.timers().push(this);
    return true;
  }
  void await_resume() const { check(); }

 private:
  static void on_fire(timer_node* n) noexcept { static_cast<sleep_awaiter*>(n)->complete(); }
  static void on_cancel(wait_op* op) noexcept {
    auto* self = static_cast<sleep_awaiter*>(op);
    self->loop().timers().erase(self);
  }
  loop_duration delay_;
  bool relative_;
};

}  // namespace detail

/// Suspends the current task for `d` of loop time; cancellable. Durations
/// too long for the clock saturate (a sleep of hours::max() never ends on
/// its own).
template <class Rep, class Period>
detail::sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
  return detail::sleep_awaiter{{}, detail::to_limit(d), true};
}

/// Suspends the current task until the loop's clock reaches `t`; cancellable.
inline detail::sleep_awaiter sleep_until(event_loop::time_point t) noexcept {
  return detail::sleep_awaiter{t, {}, false};
}

/// Lets every other ready task run once; a cancellation checkpoint.
inline detail::sleep_awaiter yield() noexcept {
  return sleep_for(detail::loop_duration::zero());
}

}  // namespace netaio::inline v0
