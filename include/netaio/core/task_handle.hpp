// task_handle: what spawn() gives back — cancel one child, or wait for it
// to end, without a scope per child (asyncio's Task, Kotlin's Job).
#pragma once

#include <netaio/core/detail/child_state.hpp>
#include <netaio/core/error.hpp>
#include <netaio/core/task_context.hpp>

#include <string_view>
#include <utility>

namespace netaio::inline v0 {

/// Refers to one spawned child while it lives; safe to keep, move or drop
/// after the child ended (it then reports done()). Dropping it does not
/// affect the child: the scope owns the child, the handle only observes it.
class task_handle {
 public:
  class join_awaiter;

  task_handle() noexcept = default;
  task_handle(task_handle&& other) noexcept : child_(std::exchange(other.child_, nullptr)) {
    if (child_ != nullptr) child_->handle_object = this;
  }
  task_handle& operator=(task_handle&& other) noexcept {
    if (this != &other) {
      detach();
      child_ = std::exchange(other.child_, nullptr);
      if (child_ != nullptr) child_->handle_object = this;
    }
    return *this;
  }
  task_handle(const task_handle&) = delete;
  task_handle& operator=(const task_handle&) = delete;
  ~task_handle() { detach(); }

  /// The child has ended (its frame is destroyed), or there never was one.
  bool done() const noexcept { return child_ == nullptr; }
  /// Requests cancellation of this child only; its siblings go on. Under the
  /// default policy this is not a failure of the scope.
  void cancel() noexcept {
    if (child_ != nullptr) child_->source.cancel();
  }
  /// The name given to spawn(), while the child lives.
  std::string_view name() const noexcept {
    return child_ != nullptr ? child_->name.view() : std::string_view();
  }
  /// Whether `ctx` is this child's own context or one nested in it: code
  /// running there is part of the child (`co_await this_context()` gives the
  /// caller's). False once the child has ended.
  bool encloses(const task_context& ctx) const noexcept {
    return child_ != nullptr && ctx.is_within(&child_->context);
  }
  /// Waits until the child has ended (a cancellable wait; the child's
  /// failure, if any, goes to its scope, not here). Awaited from inside the
  /// child itself (see encloses()) it throws self_join: that wait would
  /// never end.
  join_awaiter join() const noexcept;

 private:
  friend class task_scope;
  friend class join_awaiter;
  explicit task_handle(detail::child_state* c) noexcept : child_(c) { c->handle_object = this; }
  void detach() noexcept {
    if (child_ != nullptr) child_->handle_object = nullptr;
    child_ = nullptr;
  }
  detail::child_state* child_ = nullptr;
};

class task_handle::join_awaiter : private detail::child_waiter {
 public:
  explicit join_awaiter(const task_handle& h) noexcept : handle_(&h) {}
  // Movable until awaited (e.g. into with_timeout's task), never after.
  join_awaiter(join_awaiter&&) = default;
  join_awaiter& operator=(join_awaiter&&) = delete;
  ~join_awaiter() { abandon(); }

  bool await_ready() const noexcept { return false; }
  template <detail::netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (handle_->child_ != nullptr && h.promise().context_ != nullptr &&
        handle_->encloses(*h.promise().context_)) {
      throw self_join(
          "netaio: task_handle::join called from inside the task it waits for would never end "
          "(cancel it instead; its owner joins it)");
    }
    if (!bind(h, &child_waiter::on_cancel)) return true;
    if (handle_->child_ == nullptr) {
      finish_inline();
      return false;
    }
    link_to(handle_->child_);
    return true;
  }
  void await_resume() const { check(); }

 private:
  const task_handle* handle_;
};

inline task_handle::join_awaiter task_handle::join() const noexcept {
  return join_awaiter{*this};
}

}  // namespace netaio::inline v0
