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
  /// cancellation was already requested (level-triggered): the task is then
  /// queued to resume with operation_cancelled, and the caller's
  /// await_suspend must return true (suspend). Going through the loop even
  /// then is what keeps a task that catches operation_cancelled in a loop
  /// from starving every other task and timer. `on_cancel` unlinks the op
  /// from whatever it waits in.
  template <netaio_promise P>
  bool bind(std::coroutine_handle<P> h, void (*on_cancel)(wait_op*) noexcept) {
    ctx_ = h.promise().context_;
    handle_ = h;
    on_cancel_ = on_cancel;
    if (ctx_->token.cancelled()) {
      status_ = status::cancelled;
      loop().schedule(handle_, ctx_);
      return false;
    }
    status_ = status::pending;
    invoke_ = &wait_op::cancelled_thunk;
    source_ = ctx_->token.source();
    if (source_ != nullptr) source_->add(this);
    return true;
  }

  /// The awaited thing happened: resume the task normally.
  void complete() noexcept {
    if (status_ != status::pending) return;
    status_ = status::done;
    unregister();
    loop().schedule(handle_, ctx_);
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
  event_loop& loop() const noexcept { return *ctx_->loop; }
  task_context* context() const noexcept { return ctx_; }

  ~wait_op() { unregister(); }

  /// For completion-based I/O (io_uring, IOCP), whose kernel operation owns
  /// the op's buffer until it reports back: called from `on_cancel`, it
  /// keeps the cancelled task suspended until release(), when that report
  /// has arrived and nothing refers to the op any more.
  void hold() noexcept { held_ = true; }
  bool held() const noexcept { return held_; }
  /// Resumes a task held since its cancellation (with operation_cancelled).
  void release() noexcept {
    if (!held_) return;
    held_ = false;
    loop().schedule(handle_, ctx_);
  }

 protected:
  /// For destructors of awaiters: a pending op whose frame is being
  /// destroyed (the end of a stop's grace period) leaves whatever it waits
  /// in, so nothing points at it afterwards. Each awaiter calls this from
  /// its own destructor, while its members are still alive.
  void abandon() noexcept {
    if (status_ != status::pending || ctx_ == nullptr) return;
    status_ = status::cancelled;
    unregister();
    if (on_cancel_ != nullptr) on_cancel_(this);
  }

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
    if (!op->held_) op->loop().schedule(op->handle_, op->ctx_);
  }

  std::coroutine_handle<> handle_;
  task_context* ctx_ = nullptr;
  cancel_source* source_ = nullptr;
  void (*on_cancel_)(wait_op*) noexcept = nullptr;
  status status_ = status::pending;
  bool held_ = false;
};

}  // namespace netaio::inline v0::detail
