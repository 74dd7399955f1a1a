// Deadlines: with_timeout, move_on_after and shield. Each runs a task in a
// child context with its own cancel_source and timer, both held in the
// awaiter, so a deadline around a task allocates nothing. Any other
// awaitable (an event wait, a queue pop, a socket operation) is wrapped in a
// task first (one frame).
#pragma once

#include <netaio/core/cancellation.hpp>
#include <netaio/core/detail/timer_queue.hpp>
#include <netaio/core/error.hpp>
#include <netaio/core/event_loop.hpp>
#include <netaio/core/sleep.hpp>
#include <netaio/core/task.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace netaio::inline v0 {

namespace detail {

enum class deadline_kind { throw_timeout, move_on, shield };

template <class T>
using move_on_result = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;

template <class T, deadline_kind Kind>
class deadline_awaiter : private timer_node {
 public:
  deadline_awaiter(task<T> inner, loop_duration limit) noexcept
      : limit_(limit), inner_(std::move(inner)) {}
  deadline_awaiter(const deadline_awaiter&) = delete;
  deadline_awaiter& operator=(const deadline_awaiter&) = delete;
  ~deadline_awaiter() {
    if (armed()) ctx_.loop->timers().erase(this);
  }

  bool await_ready() const noexcept { return false; }
  template <netaio_promise P>
  void await_suspend(std::coroutine_handle<P> caller) {
    check_unstarted(inner_.handle(), "awaiting");
    task_context* parent = caller.promise().context_;
    // An inner deadline follows the outer cancellation, so it can shorten but
    // never extend an outer one; a shield follows nothing but its own limit.
    if constexpr (Kind != deadline_kind::shield) source_.link(parent->token);
    ctx_ = task_context{parent->loop, source_.token(), parent, nullptr};
    if (limit_ != loop_duration::max()) {
      deadline = saturating_add(parent->loop->now(), limit_);
      fire = &on_fire;
      parent->loop->timers().push(this);
    }
    auto h = inner_.handle();
    h.promise().start_awaited(h, caller, &ctx_, parent);
  }

  decltype(auto) await_resume() {
    if (armed()) ctx_.loop->timers().erase(this);
    // An outer cancellation wins over our own limit: it is reported as is.
    const bool outer_cancelled = Kind != deadline_kind::shield && ctx_.parent->token.cancelled();
    source_.unlink();
    auto& p = inner_.handle().promise();
    const bool hit = fired_ && !outer_cancelled && p.cancelled_;
    if constexpr (Kind == deadline_kind::move_on) {
      if constexpr (std::is_void_v<T>) {
        if (hit) return false;
        p.result();
        return true;
      } else {
        if (hit) return move_on_result<T>{};
        return move_on_result<T>{p.result()};
      }
    } else {
      if (hit) throw timed_out{};
      return p.result();
    }
  }

 private:
  static void on_fire(timer_node* n) noexcept {
    auto* self = static_cast<deadline_awaiter*>(n);
    self->fired_ = true;
    self->source_.cancel();
  }

  loop_duration limit_;
  cancel_source source_;
  task_context ctx_;
  bool fired_ = false;
  // Last, so destroyed first: when a stop's grace destroys the frame that
  // holds this awaiter, the inner task (and any scope nested in it) must be
  // torn down while the source and context it points into still exist.
  // Destroyed after them, a nested scope saw its parent source go, became a
  // root, and its tasks escaped the teardown (a wake-up queued for a frame
  // about to be freed).
  task<T> inner_;
};

/// The awaiter an awaitable gives (through operator co_await, if it has one).
template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { std::forward<A>(a).operator co_await(); }) {
    return std::forward<A>(a).operator co_await();
  } else {
    return std::forward<A>(a);
  }
}

template <class A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

/// Something a netaio task can co_await, other than a task.
template <class A>
concept plain_awaitable = !is_task<std::remove_cvref_t<A>>::value && requires(A && a) {
  get_awaiter(std::forward<A>(a)).await_ready();
  get_awaiter(std::forward<A>(a)).await_resume();
};

/// Moves the awaitable into a task's frame, so it lives as long as the wait.
template <class A>
task<await_result_t<A>> as_task(A a) {
  if constexpr (std::is_void_v<await_result_t<A>>) {
    co_await std::move(a);
  } else {
    co_return co_await std::move(a);
  }
}

}  // namespace detail

/// Runs `t`, cancelling it after `limit`; throws timed_out if the limit (not
/// an outer cancellation) ended it. Nested limits compose: the earliest wins.
template <class T, class Rep, class Period>
detail::deadline_awaiter<T, detail::deadline_kind::throw_timeout> with_timeout(
    std::chrono::duration<Rep, Period> limit, task<T> t) noexcept {
  return {std::move(t), detail::to_limit(limit)};
}
/// with_timeout around any awaitable: an event wait, a queue pop, a socket
/// operation, a task_handle's join.
template <class A, class Rep, class Period>
requires detail::plain_awaitable<A>
auto with_timeout(std::chrono::duration<Rep, Period> limit, A&& a) {
  return with_timeout(limit, detail::as_task<std::remove_cvref_t<A>>(std::forward<A>(a)));
}

/// Runs `t`, cancelling it after `limit`. Gives std::optional<T> (bool for
/// void): empty/false if the limit ended it.
template <class T, class Rep, class Period>
detail::deadline_awaiter<T, detail::deadline_kind::move_on> move_on_after(
    std::chrono::duration<Rep, Period> limit, task<T> t) noexcept {
  return {std::move(t), detail::to_limit(limit)};
}
/// move_on_after around any awaitable.
template <class A, class Rep, class Period>
requires detail::plain_awaitable<A>
auto move_on_after(std::chrono::duration<Rep, Period> limit, A&& a) {
  return move_on_after(limit, detail::as_task<std::remove_cvref_t<A>>(std::forward<A>(a)));
}

/// Runs `t` shielded from outer cancellation — for cleanup that must still
/// talk to the network — but never longer than its own `limit` (then it
/// throws timed_out).
template <class T, class Rep, class Period>
detail::deadline_awaiter<T, detail::deadline_kind::shield> shield(
    std::chrono::duration<Rep, Period> limit, task<T> t) noexcept {
  return {std::move(t), detail::to_limit(limit)};
}
/// shield around any awaitable.
template <class A, class Rep, class Period>
requires detail::plain_awaitable<A>
auto shield(std::chrono::duration<Rep, Period> limit, A&& a) {
  return shield(limit, detail::as_task<std::remove_cvref_t<A>>(std::forward<A>(a)));
}

}  // namespace netaio::inline v0
