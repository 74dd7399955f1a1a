// The common part of every cancellable suspension: bind to the awaiting task,
// register on its cancellation, and resume it through the loop on completion
// or cancellation, whichever comes first.
#pragma once

#include <netaio/core/cancellation.hpp>
#include <netaio/core/event_loop.hpp>
#include <netaio/core/task.hpp>

#include <coroutine>
#include <cstdint>

namespace netaio::inline v0::detail {

class wait_op : public cancel_node {
 public:
  enum class status : std::uint8_t { pending, done, cancelled };

  /// Binds to the awaiting task. Returns false, without registering, when its
  /// cancellation was already requested (level-triggered): the caller must then
  /// not suspend, and check() throws. `on_cancel` unlinks the op from whatever
  /// it waits in; the task is then resumed with operation_cancelled.
  template <netaio_promise P>
  bool bind(std::coroutine_handle<P> h, void (*on_cancel)(wait_op*) noexcept) noexcept {
    task_context* ctx = h.promise().context_;
    handle_ = h;
    loop_ = ctx->loop;
    if (ctx->token.cancelled()) {
      status_ = status::cancelled;
      return false;
    }
    status_ = status::pending;
    on_cancel_ = on_cancel;
    invoke_ = &wait_op::cancelled_thunk;
    source_ = ctx->token.source();
    if (source_ != nullptr) source_->add(this);
    return true;
  }

  /// The awaited thing happened: resume the task normally.
  void complete() noexcept {
    if (status_ != status::pending) return;
    status_ = status::done;
    unregister();
    loop_->schedule(handle_);
  }

  /// The awaited thing was already there after bind(): the task does not
  /// suspend, so nothing is scheduled.
  void finish_inline() noexcept {
    status_ = status::done;
    unregister();
  }

  /// Throws operation_cancelled if the op ended by cancellation.
  void check() const {
    if (status_ == status::cancelled) throw operation_cancelled{};
  }
  bool pending() const noexcept { return status_ == status::pending; }
  bool was_cancelled() const noexcept { return status_ == status::cancelled; }
  event_loop& loop() const noexcept { return *loop_; }

  ~wait_op() { unregister(); }

 private:
  void unregister() noexcept {
    if (source_ != nullptr) {
      source_->remove(this);
      source_ = nullptr;
    }
  }
  static void cancelled_thunk(cancel_node* n) noexcept {
    auto* op = static_cast<wait_op*>(n);
    op->source_ = nullptr;  // the source already unlinked us
    op->status_ = status::cancelled;
    op->on_cancel_(op);
    op->loop_->schedule(op->handle_);
  }

  std::coroutine_handle<> handle_;
  event_loop* loop_ = nullptr;
  cancel_source* source_ = nullptr;
  void (*on_cancel_)(wait_op*) noexcept = nullptr;
  status status_ = status::pending;
};

}  // namespace netaio::inline v0::detail
