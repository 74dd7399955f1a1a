// socket_handle owns a descriptor and its registration with an io_context;
// reactor_awaiter is the skeleton of every socket operation: bind to the
// task, try the syscall, wait in the descriptor's slot only on EAGAIN.
#pragma once

#include <netaio/core/detail/wait_op.hpp>
#include <netaio/io/detail/reactor_op.hpp>
#include <netaio/io/detail/sockaddr.hpp>
#include <netaio/io/detail/socket_types.hpp>
#include <netaio/io/io_context.hpp>

#include <coroutine>
#include <memory>
#include <utility>

namespace netaio::inline v0::detail {

class socket_handle {
 public:
  socket_handle() noexcept = default;
  /// Takes ownership of `fd` and registers it with `io` (closing it if that fails).
  socket_handle(io_context& io, int fd) {
    try {
      state_ = std::make_unique<fd_state>();
      state_->fd = fd;
      io.backend().add(*state_);
    } catch (...) {
      ::close(fd);
      throw;
    }
  }
  socket_handle(socket_handle&&) noexcept = default;
  socket_handle& operator=(socket_handle&& other) noexcept {
    if (this != &other) {
      close();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~socket_handle() { close(); }

  /// Closes the descriptor; operations still waiting on it end with
  /// io_error(closed). Idempotent.
  void close() noexcept {
    if (!state_ || state_->fd < 0) return;
    if (state_->owner != nullptr) {
      reactor_registry::end_waiters(*state_, op_end::closed);
      static_cast<io_backend*>(state_->owner)->remove(*state_);
    }
    ::close(state_->fd);  // never retried: on Linux the descriptor is gone even on EINTR
    state_->fd = -1;
  }

  bool is_open() const noexcept { return state_ && state_->fd >= 0; }
  int fd() const noexcept { return state_ ? state_->fd : -1; }
  fd_state* state() const noexcept { return state_.get(); }

  /// Throws io_error(closed) unless open.
  int checked_fd(const char* what) const {
    if (!is_open()) {
      throw io_error(io_errc::closed, std::string("netaio: ") + what + ": the socket is closed");
    }
    return state_->fd;
  }

 private:
  std::unique_ptr<fd_state> state_;
};

enum class direction : unsigned char { read, write };

/// CRTP base of socket operations. Derived provides
/// `static bool perform(reactor_op*) noexcept` (true: finished, with error_
/// set on failure) and an await_resume that calls end_or_throw() first.
template <class Derived, direction Dir>
class reactor_awaiter : protected reactor_op {
 public:
  explicit reactor_awaiter(fd_state* state) noexcept { state_ = state; }
  /// Awaiters may be moved before they are awaited (e.g. into a helper
  /// coroutine), never while pending.
  reactor_awaiter(reactor_awaiter&& other) noexcept : reactor_op(other) {
    NETAIO_ASSERT(other.state_ == nullptr || other.slot() != &other,
                  "a socket operation was moved while pending");
  }
  reactor_awaiter& operator=(reactor_awaiter&&) = delete;
  ~reactor_awaiter() {
    if (state_ != nullptr && slot() == this) slot() = nullptr;
  }

  bool await_ready() const noexcept { return false; }

  template <netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (!bind(h, &on_cancel)) return true;
    perform_ = &Derived::perform;
    if (state_ == nullptr || state_->fd < 0) {
      end_ = op_end::closed;
    } else if (state_->owner == nullptr || state_->owner->closed()) {
      end_ = op_end::aborted;
    } else if (slot() != nullptr) {
      busy_ = true;
    } else if (!perform_(this)) {
      slot() = this;
      return true;
    }
    finish_inline();
    return false;
  }

 protected:
  /// Throws for cancellation, a closed socket or a busy slot; after it, only
  /// error_ (errno) remains to be looked at.
  void end_or_throw(const char* what) const {
    if (end_ == op_end::aborted) throw operation_cancelled{};
    check();
    if (end_ == op_end::closed) {
      throw io_error(io_errc::closed, std::string("netaio: ") + what + ": the socket was closed");
    }
    if (busy_) {
      throw io_error(io_errc::operation_pending,
                     std::string("netaio: ") + what + ": another task is already " +
                         (Dir == direction::read ? "reading from" : "writing to") + " this socket");
    }
  }
  bool ended_early() const noexcept { return end_ != op_end::none || was_cancelled(); }

 private:
  reactor_op*& slot() noexcept { return Dir == direction::read ? state_->reader : state_->writer; }
  static void on_cancel(wait_op* op) noexcept {
    auto* self = static_cast<reactor_op*>(op);
    reactor_op*& s = Dir == direction::read ? self->state_->reader : self->state_->writer;
    if (s == self) s = nullptr;
  }

  bool busy_ = false;
};

/// Retries a syscall interrupted by a signal.
template <class F>
auto retry_eintr(F f) noexcept {
  decltype(f()) r;
  do {
    r = f();
  } while (r < 0 && errno == EINTR);
  return r;
}

inline bool would_block(int e) noexcept {
  return e == EAGAIN || e == EWOULDBLOCK;
}

}  // namespace netaio::inline v0::detail
