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
  socket_handle(io_context& io, native_socket fd) {
    try {
      state_ = std::make_unique<fd_state>();
      state_->fd = fd;
      io.backend().add(*state_);
    } catch (...) {
      close_socket(fd);
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
    if (!state_ || state_->fd == invalid_socket) return;
    if (state_->owner != nullptr) {
      state_->owner->end_waiters(*state_, op_end::closed);
      static_cast<io_backend*>(state_->owner)->remove(*state_);
    }
    // Never retried: on Linux the descriptor is gone even on EINTR. IOCP:
    // ops still in flight end through their packets (with an error).
    close_socket(state_->fd);
    state_->fd = invalid_socket;
  }

  bool is_open() const noexcept { return state_ && state_->fd != invalid_socket; }
  native_socket fd() const noexcept { return state_ ? state_->fd : invalid_socket; }
  fd_state* state() const noexcept { return state_.get(); }

  /// Throws io_error(closed) unless open.
  native_socket checked_fd(const char* what) const {
    if (!is_open()) {
      throw io_error(io_errc::closed, std::string("netaio: ") + what + ": the socket is closed");
    }
    return state_->fd;
  }

 private:
  std::unique_ptr<fd_state> state_;
};

enum class direction : unsigned char { read, write };

/// True on IOCP: every operation runs on the completion model there.
inline constexpr bool iocp_completion = NETAIO_HAS_IOCP != 0;

/// Whether awaiter `D` runs on the completion model here: the backend's
/// model is completion and `D` has a completion path (`start` and `finish`,
/// see reactor_awaiter). Awaiters without one wait for readiness on every
/// backend (io_uring arms a one-shot poll for them). IOCP has no readiness:
/// there every awaiter has a completion path, and the readiness `perform`
/// steps are not compiled (#if !NETAIO_HAS_IOCP: they use POSIX calls).
template <class D>
constexpr bool completion_path() noexcept {
  if constexpr (io_backend::model != io_model::completion) {
    return false;
  } else if constexpr (requires { D::has_completion_path; }) {
    return D::has_completion_path;
  } else {
    return false;
  }
}

/// CRTP base of socket operations. Derived provides, for the readiness
/// model, `static bool perform(reactor_op*) noexcept` (true: finished, with
/// error_ set on failure) and an await_resume that calls end_or_throw()
/// first. For the completion model it may also provide
/// `static constexpr bool has_completion_path = true` and
///   template <class B> static bool start(reactor_op*) noexcept
///     (finishes at once and returns true, or submits to backend B and
///     returns false),
///   template <class B> static bool finish(reactor_op*) noexcept
///     (consumes res_; true when finished, false when it submitted again;
///     never submits once ended_early()),
/// with the same await_resume. Which path runs is decided at compile time.
/// Operations whose completion path only IOCP has (accept, connect,
/// datagrams: io_uring runs them on readiness) say
/// `has_completion_path = iocp_completion`.
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
    // Completion model: a frame destroyed with its op in flight (the end of
    // a stop's grace period) must not leave the kernel a pointer into it.
    if (in_flight_) submitted_to_->reap(*this);
    if (state_ != nullptr && slot() == this) slot() = nullptr;
  }

  bool await_ready() const noexcept { return false; }

  /// After the resume: the op ended because its socket was closed here, and
  /// not cancelled (what await_resume reports as io_error(closed)). For a
  /// layer that takes a local close as the end of a loop without a throw.
  bool ended_by_close() const noexcept {
    return end_ == op_end::closed && !was_cancelled() && !busy_;
  }

  template <netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (!bind(h, &on_cancel)) return true;
    if (state_ == nullptr || state_->fd == invalid_socket) {
      end_ = op_end::closed;
    } else if (state_->owner == nullptr || state_->owner->closed()) {
      // Reported as operation_cancelled: resumed through the loop, as every
      // cancelled wait is, so a task that catches it in a loop cannot
      // starve the others.
      end_ = op_end::aborted;
      finish_inline();
      loop().schedule(h, context());
      return true;
    } else if (slot() != nullptr) {
      busy_ = true;
    } else if constexpr (completion_path<Derived>()) {
      perform_ = &Derived::template finish<io_backend>;
      if (!Derived::template start<io_backend>(this)) {
        slot() = this;
        return true;
      }
    } else {
      perform_ = &Derived::perform;
      if (!perform_(this)) {
        slot() = this;
        // Backends that arm readiness per wait (io_uring's one-shot poll).
        [this](auto* b) {
          if constexpr (requires { b->watch(*state_, true); })
            b->watch(*state_, Dir == direction::read);
        }(static_cast<io_backend*>(state_->owner));
        return true;
      }
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
  /// Completion model: the backend the op runs on (while its socket is open).
  template <class B>
  static B& backend_of(reactor_op* op) noexcept {
    return *static_cast<B*>(op->state_->owner);
  }
  /// Completion model: the kernel's error, unless the op was ended early (a
  /// cancellation's ECANCELED is not a failure of the socket).
  void note_error(int res) noexcept {
    if (res < 0 && !ended_early()) error_ = -res;
  }

 private:
  reactor_op*& slot() noexcept { return Dir == direction::read ? state_->reader : state_->writer; }
  static void on_cancel(wait_op* op) noexcept {
    auto* self = static_cast<reactor_op*>(op);
    if (self->in_flight_) {
      // Completion model: the kernel still owns the buffer. The task stays
      // suspended (and the op in its slot) until the kernel's report comes.
      self->hold();
      self->submitted_to_->cancel_in_flight(*self);
      return;
    }
    reactor_op*& s = Dir == direction::read ? self->state_->reader : self->state_->writer;
    if (s == self) s = nullptr;
  }

  bool busy_ = false;
};

/// True when sockets run on the completion model (io_uring, IOCP).
inline constexpr bool completion_model = io_backend::model == io_model::completion;

/// Completion model: the message a submitted send points at, kept in the
/// awaiter (the kernel reads it after await_suspend returns). Empty, and so
/// no bigger an awaiter, on readiness backends.
template <std::size_t N, bool Used = completion_model>
struct send_storage {
  send_message msg;
  io_buffer iov[N];
};
template <std::size_t N>
struct send_storage<N, false> {};
/// The storage, seen through a type that depends on B, so that code using
/// it is only checked where it is instantiated (completion backends).
template <class B, class T>
T& dependent(T& t) noexcept {
  return t;
}

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
