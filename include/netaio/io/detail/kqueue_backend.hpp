// The BSD/macOS readiness backend: kqueue, each descriptor registered once
// with EVFILT_READ and EVFILT_WRITE, both EV_CLEAR (edge-triggered, the same
// model as epoll's EPOLLET), plus a user event (or a pipe where EVFILT_USER
// is missing) for wake(). Timers stay in the loop's own queue: kevent only
// gets the time until the next one.
#pragma once

#include <netaio/core/detail/loop_backend.hpp>
#include <netaio/io/detail/reactor_op.hpp>
#include <netaio/io/detail/registration_table.hpp>

#include <fcntl.h>
#include <sys/event.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <utility>

// Wake-ups through a pipe instead of EVFILT_USER: for kernels without it
// (older OpenBSD and NetBSD), or forced with -DNETAIO_KQUEUE_WAKE_PIPE=1.
#if !defined(NETAIO_KQUEUE_WAKE_PIPE)
#if defined(EVFILT_USER)
#define NETAIO_KQUEUE_WAKE_PIPE 0
#else
#define NETAIO_KQUEUE_WAKE_PIPE 1
#endif
#endif

// A kernel kqueue forgets a descriptor's events when it is closed, so
// closing needs no EV_DELETE. libkqueue (kqueue over epoll, in user space)
// cannot see a close(): its registration would outlive the descriptor and
// be found again by the next socket given the same number.
#if !defined(NETAIO_KQUEUE_DELETE_ON_CLOSE)
#if defined(LIBKQUEUE)
#define NETAIO_KQUEUE_DELETE_ON_CLOSE 1
#else
#define NETAIO_KQUEUE_DELETE_ON_CLOSE 0
#endif
#endif

#if defined(LIBKQUEUE)
// libkqueue frees a closed kqueue (and its descriptors) later, on a thread of
// its own; this waits for that. Weak: older libkqueue versions lack it.
extern "C" void libkqueue_drain_pending_close(void) __attribute__((weak));
#endif

namespace netaio::inline v0::detail {

class kqueue_backend final : public loop_backend, public reactor_registry {
 public:
  static constexpr const char* name = "kqueue";
  static constexpr io_model model = io_model::readiness;

  kqueue_backend() {
    kq_ = ::kqueue();
    if (kq_ < 0) fail("kqueue");
    try {
      set_cloexec(kq_, "kqueue");
#if NETAIO_KQUEUE_WAKE_PIPE
      int p[2];
      if (::pipe(p) != 0) fail("pipe");
      wake_read_ = p[0];
      wake_write_ = p[1];
      for (int fd : p) {
        set_cloexec(fd, "pipe");
        // A full pipe is as good as a written byte: wake() never blocks.
        if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) fail("fcntl(O_NONBLOCK)");
      }
      // Level-triggered: it stays ready until drain_wake() empties it.
      struct kevent ev =
          change(static_cast<std::uintptr_t>(wake_read_), EVFILT_READ, EV_ADD, wake_token);
#else
      // EV_CLEAR: retrieving the event resets it, which is the drain.
      struct kevent ev = change(wake_ident, EVFILT_USER, EV_ADD | EV_CLEAR, wake_token);
#endif
      if (::kevent(kq_, &ev, 1, nullptr, 0, nullptr) != 0) fail("kevent(wake)");
    } catch (...) {
      close_wake_pipe();
      ::close(kq_);
      throw;
    }
  }
  kqueue_backend(const kqueue_backend&) = delete;
  kqueue_backend& operator=(const kqueue_backend&) = delete;
  ~kqueue_backend() override {
    detach_all();
    close_wake_pipe();
    ::close(kq_);
#if defined(LIBKQUEUE)
    // A closed io_context leaves no descriptor behind (invariant 2), here too.
    if (&libkqueue_drain_pending_close != nullptr) libkqueue_drain_pending_close();
#endif
  }

  /// Registers `s.fd` for both directions, edge-triggered. Throws io_error.
  void add(fd_state& s) {
    // Room first, so that nothing below can fail after the kernel said yes.
    const table::place at = table_.reserve();
    const std::uintptr_t token = table::token(at);
    const auto ident = static_cast<std::uintptr_t>(s.fd);
    // Write first: libkqueue merges both filters into one epoll
    // registration and keeps only the last filter's extra flags, and the
    // read filter's EPOLLRDHUP is what reports a FIN that comes with data
    // (EV_EOF), without which a read after it would wait for ever.
    struct kevent ch[2] = {change(ident, EVFILT_WRITE, EV_ADD | EV_CLEAR, token),
                           change(ident, EVFILT_READ, EV_ADD | EV_CLEAR, token)};
    if (::kevent(kq_, ch, 2, nullptr, 0, nullptr) != 0) {
      const int e = errno;
      delete_events(s.fd);  // the first filter may have been added
      throw_backend_error(e, "kevent(EV_ADD)");
    }
    table_.take(at, s);
    link(s);
  }
  /// Forgets `s`, which is about to be closed. A kernel kqueue drops the
  /// descriptor's events with its close(), so no syscall here (see
  /// NETAIO_KQUEUE_DELETE_ON_CLOSE for libkqueue). The slot's generation
  /// changes, so an event still carrying the old one is ignored.
  void remove(fd_state& s) noexcept {
    if (s.owner != this) return;
    if constexpr (NETAIO_KQUEUE_DELETE_ON_CLOSE) delete_events(s.fd);
    table_.release(s);
    unlink(s);
  }

  std::size_t wait(std::chrono::nanoseconds timeout) override {
    timespec ts{};
    const timespec* limit = nullptr;  // no limit
    if (timeout.count() >= 0) {
      // Full precision: kqueue never wakes early, so a timer is not spun on.
      ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
      limit = &ts;
    }
    struct kevent events[max_events];
    const int n = ::kevent(kq_, nullptr, 0, events, max_events, limit);
    if (n < 0) return 0;       // EINTR: the loop simply turns again
    std::size_t progress = 0;  // ops run: what the loop takes for a busy turn
    for (int i = 0; i < n; ++i) {
      const struct kevent& ev = events[i];
      const std::uintptr_t token = from_udata(ev.udata);
      if (token == wake_token) {
        drain_wake();
        continue;
      }
      if ((ev.flags & EV_ERROR) != 0) continue;  // a failed change: we pass none here
      fd_state* s = table_.find(token);
      if (s == nullptr) continue;  // a registration that outlived its socket object
        // EV_EOF: this direction is shut (peer FIN for reads, peer gone or a
        // socket error for writes). As epoll's HUP flags, it keeps the
        // direction "ready", since its edge may already have been taken.
#if defined(LIBKQUEUE)
      // libkqueue took the socket's error out of SO_ERROR to put it here.
      if ((ev.flags & EV_EOF) != 0 && ev.fflags != 0) s->taken_error = static_cast<int>(ev.fflags);
#endif
      if (ev.filter == EVFILT_READ) {
        if ((ev.flags & EV_EOF) != 0) s->read_hup = true;
        s->readable = true;
        progress += run_waiter(s->reader);
      } else if (ev.filter == EVFILT_WRITE) {
        if ((ev.flags & EV_EOF) != 0) s->write_hup = true;
        s->writable = true;
        progress += run_waiter(s->writer);
      }
    }
#if defined(LIBKQUEUE)
    // libkqueue asks epoll for as many events as there are slots here, yet
    // one epoll event can become two kevents (read and write): with the
    // list full, the rest are dropped, and an edge-triggered edge is never
    // reported again. So a full list means "any socket may have changed".
    if (n == max_events) progress += recheck_all();
#endif
    return progress;
  }

  void wake() noexcept override {
    // Pairs with the fence in drain_wake(): either the loop sees what the
    // caller published before this wake (post()'s queue), or this call sees
    // the flag cleared and signals again. Without the pair, both could miss.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (wake_pending_.exchange(true, std::memory_order_seq_cst)) return;  // one signal per sleep
    if (!signal_wake()) {
      // Nothing will clear a flag whose signal never went out: clear it
      // here, or every later wake() would be swallowed.
      wake_pending_.store(false, std::memory_order_seq_cst);
    }
  }

 private:
  static constexpr int max_events = 128;
  // udata carries a slot index and the slot's generation, packed in a
  // pointer-sized integer (32 + 32 bits on 64-bit targets, 20 + 12 on
  // 32-bit ones).
  using table = registration_table<std::uintptr_t, sizeof(std::uintptr_t) >= 8 ? 32 : 20>;
  static constexpr std::uintptr_t wake_token = ~std::uintptr_t{0};  // the table's: never a slot
  static constexpr std::uintptr_t wake_ident = 0;

  // udata is void* on FreeBSD, macOS and OpenBSD, intptr_t on NetBSD < 10:
  // the same size either way.
  using udata_t = decltype(std::declval<struct kevent>().udata);
  static_assert(sizeof(udata_t) == sizeof(std::uintptr_t));
  static udata_t to_udata(std::uintptr_t v) noexcept {
    return std::bit_cast<udata_t>(v);
  }
  static std::uintptr_t from_udata(udata_t u) noexcept {
    return std::bit_cast<std::uintptr_t>(u);
  }

  // Fields by name, not EV_SET: their types differ between the BSDs.
  static struct kevent change(std::uintptr_t ident, int filter, unsigned flags,
                              std::uintptr_t token, unsigned fflags = 0) noexcept {
    struct kevent ev {};
    ev.ident = ident;
    ev.filter = static_cast<decltype(ev.filter)>(filter);
    ev.flags = static_cast<decltype(ev.flags)>(flags);
    ev.fflags = static_cast<decltype(ev.fflags)>(fflags);
    ev.udata = to_udata(token);
    return ev;
  }

  /// Treats every registered socket as having had an edge in both
  /// directions: a spurious edge costs one syscall that says EAGAIN, a
  /// missed one would hang its operation.
  std::size_t recheck_all() noexcept {
    std::size_t progress = 0;
    for (const table::slot& e : table_.slots()) {
      fd_state* s = e.state;
      if (s == nullptr) continue;
      s->readable = true;
      s->writable = true;
      progress += run_waiter(s->reader);
      progress += run_waiter(s->writer);
    }
    return progress;
  }

  /// Best effort: the descriptor may have only one of the filters, or none.
  void delete_events(int fd) noexcept {
    if constexpr (NETAIO_KQUEUE_DELETE_ON_CLOSE) {
      const auto ident = static_cast<std::uintptr_t>(fd);
      for (int filter : {EVFILT_READ, EVFILT_WRITE}) {
        struct kevent ch = change(ident, filter, EV_DELETE, 0);
        (void)::kevent(kq_, &ch, 1, nullptr, 0, nullptr);
      }
    } else {
      (void)fd;
    }
  }

  /// True when the loop will see the signal.
  bool signal_wake() noexcept {
#if NETAIO_KQUEUE_WAKE_PIPE
    const char one = 1;
    ssize_t r;
    do {
      r = ::write(wake_write_, &one, 1);
    } while (r < 0 && errno == EINTR);
    return r == 1 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));  // full: readable
#else
    struct kevent ev = change(wake_ident, EVFILT_USER, 0, wake_token, NOTE_TRIGGER);
    int r;
    do {
      r = ::kevent(kq_, &ev, 1, nullptr, 0, nullptr);
    } while (r < 0 && errno == EINTR);
    return r == 0;
#endif
  }

  /// The loop took the wake signal: consume it first, then clear the flag.
  /// Clearing first would let a wake() in between set the flag and signal,
  /// only for that signal to be consumed here: the flag would then stay set
  /// with no signal pending, and every later wake() would be swallowed.
  void drain_wake() noexcept {
#if NETAIO_KQUEUE_WAKE_PIPE
    char buf[64];
    ssize_t r;
    do {
      r = ::read(wake_read_, buf, sizeof buf);
    } while (r > 0 || (r < 0 && errno == EINTR));
#endif
    // (EVFILT_USER with EV_CLEAR: kevent() reset it when it returned it.)
    wake_pending_.store(false, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with wake()
  }

  void close_wake_pipe() noexcept {
    if (wake_read_ >= 0) ::close(wake_read_);
    if (wake_write_ >= 0) ::close(wake_write_);
    wake_read_ = wake_write_ = -1;
  }

  static void set_cloexec(int fd, const char* what) {
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) fail(what);
  }

  [[noreturn]] static void fail(const char* what) {
    throw_backend_error(errno, what);
  }

  table table_;
  int kq_ = -1;
  int wake_read_ = -1;  // the pipe, where wake-ups go through one
  int wake_write_ = -1;
  std::atomic<bool> wake_pending_{false};
};

}  // namespace netaio::inline v0::detail
