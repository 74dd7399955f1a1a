// signal_set: POSIX signals as an awaitable on the reactor (signalfd on
// Linux), so a program stops on SIGTERM from a task rather than from a
// sigwait thread. Other platforms have no signal_set yet
// (NETAIO_HAS_SIGNAL_SET is 0 there); their backends' equivalents come later.
#pragma once

#include <netaio/detail/config.hpp>
// Outside the #if: the single header inlines each header once, where it is
// first included, so shared headers must not first appear under a condition.
#include <netaio/io/detail/socket_handle.hpp>
#include <netaio/io/error.hpp>
#include <netaio/io/io_context.hpp>

#if defined(__linux__)

#define NETAIO_HAS_SIGNAL_SET 1

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>

namespace netaio::inline v0 {

namespace detail {

/// Per thread: how many live signal_sets wait for each signal, and whether
/// the last one to go must unblock it (it was not blocked before the first).
/// Counting, rather than each set restoring the mask it found, makes sets
/// with signals in common correct whatever order they are destroyed in.
struct thread_signal_claims {
  std::uint32_t count[NSIG] = {};
  bool unblock[NSIG] = {};
};
inline thread_signal_claims& signal_claims() noexcept {
  thread_local thread_signal_claims claims;
  return claims;
}

/// co_await signal_set::wait(): reads one signalfd_siginfo.
class signal_wait_awaiter : public reactor_awaiter<signal_wait_awaiter, direction::read> {
 public:
  explicit signal_wait_awaiter(fd_state* state) noexcept : reactor_awaiter(state) {}

  static bool perform(reactor_op* op) noexcept {
    auto* self = static_cast<signal_wait_awaiter*>(op);
    fd_state& s = *self->state_;
    if (!s.readable) return false;  // drained since the last edge: wait for the next signal
    signalfd_siginfo info;
    const ssize_t r = retry_eintr([&] { return ::read(s.fd, &info, sizeof info); });
    if (r == static_cast<ssize_t>(sizeof info)) {
      self->signo_ = static_cast<int>(info.ssi_signo);
      return true;  // readable stays set: another signal may be queued
    }
    if (r < 0 && would_block(errno)) {
      s.drained_read();
      return false;
    }
    self->error_ = r < 0 ? errno : EIO;  // a short read never happens on signalfd
    return true;
  }

  /// The signal's number.
  int await_resume() const {
    end_or_throw("wait for a signal");
    if (error_ != 0) throw_errno(error_, "wait for a signal");
    return signo_;
  }

 private:
  int signo_ = 0;
};

}  // namespace detail

/// A set of signals to await on an io_context (Asio's name). Construction
/// blocks the signals for the calling thread, so they queue for the set
/// instead of running their handlers or default actions; destruction (or
/// close()) unblocks those that were not blocked before. Signals of the set
/// that arrived and were not waited for are dropped with it, as by Asio:
/// unblocked, most would end the process.
///
/// A signal sent to the process is taken by any thread that does not block
/// it; in a program with threads, create the set before starting them (they
/// inherit the mask) or block the signals in each. Create and destroy the set
/// on its io_context's thread. Not copyable or movable.
class signal_set {
 public:
  /// Waits for `signals` on `io`. Throws std::invalid_argument for a number
  /// that is not a signal or cannot be caught (SIGKILL, SIGSTOP), io_error
  /// if the descriptor cannot be made.
  signal_set(io_context& io, std::initializer_list<int> signals)
      : signal_set(io, std::span<const int>(signals.begin(), signals.size())) {}
  signal_set(io_context& io, std::span<const int> signals) : thread_(::pthread_self()) {
    ::sigemptyset(&set_);
    for (int s : signals) {
      if (s <= 0 || s >= NSIG || s == SIGKILL || s == SIGSTOP) {
        throw std::invalid_argument(
            "netaio: signal_set: " + std::to_string(s) +
            (s == SIGKILL || s == SIGSTOP ? " cannot be caught" : " is not a signal number"));
      }
      ::sigaddset(&set_, s);
    }
    sigset_t before;
    if (const int e = ::pthread_sigmask(SIG_BLOCK, &set_, &before); e != 0)
      detail::throw_errno(e, "signal_set: pthread_sigmask");
    claim(before);
    try {
      const int fd = ::signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC);
      if (fd < 0) detail::throw_errno(errno, "signal_set: signalfd");
      handle_ = detail::socket_handle(io, fd);
    } catch (...) {
      release();
      throw;
    }
  }
  signal_set(const signal_set&) = delete;
  signal_set& operator=(const signal_set&) = delete;
  ~signal_set() { close(); }

  /// Waits for one of the signals; gives its number. Cancellable like every
  /// io operation; one wait at a time (a second gets io_error(operation_pending)).
  /// After close(), io_error(closed).
  detail::signal_wait_awaiter wait() noexcept {
    return detail::signal_wait_awaiter(handle_.state());
  }

  /// Whether `signo` is one of the set's signals.
  bool contains(int signo) const noexcept {
    return signo > 0 && signo < NSIG && ::sigismember(&set_, signo) == 1;
  }

  /// Ends a pending wait with io_error(closed), unblocks what construction
  /// blocked, and closes the descriptor. Idempotent.
  void close() noexcept {
    release();
    handle_.close();
  }
  bool is_open() const noexcept { return handle_.is_open(); }

 private:
  void claim(const sigset_t& before) noexcept {
    detail::thread_signal_claims& c = detail::signal_claims();
    for (int s = 1; s < NSIG; ++s) {
      if (::sigismember(&set_, s) != 1) continue;
      if (c.count[s]++ == 0) c.unblock[s] = ::sigismember(&before, s) != 1;
    }
    claimed_ = true;
  }

  void release() noexcept {
    if (!claimed_) return;
    claimed_ = false;
    NETAIO_ASSERT(::pthread_equal(thread_, ::pthread_self()) != 0,
                  "a signal_set was closed on another thread than the one it blocked signals in");
    detail::thread_signal_claims& c = detail::signal_claims();
    sigset_t unblock;
    ::sigemptyset(&unblock);
    bool any = false;
    for (int s = 1; s < NSIG; ++s) {
      if (::sigismember(&set_, s) != 1) continue;
      if (--c.count[s] == 0 && c.unblock[s]) {
        ::sigaddset(&unblock, s);
        any = true;
      }
    }
    if (!any) return;
    const timespec now{0, 0};
    while (::sigtimedwait(&unblock, nullptr, &now) > 0 || errno == EINTR) {
    }
    ::pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
  }

  detail::socket_handle handle_;
  sigset_t set_;
  pthread_t thread_;
  bool claimed_ = false;
};

}  // namespace netaio::inline v0

#else

#define NETAIO_HAS_SIGNAL_SET 0

#endif
