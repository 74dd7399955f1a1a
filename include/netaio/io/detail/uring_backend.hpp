// The opt-in Linux io_uring backend (-DNETAIO_HAS_IO_URING=1; Meson:
// -Dio_uring=true, which also links liburing). A hybrid:
// - completion for the stream hot path: read_some/read_exact/read_into
//   submit an IORING_OP_RECV with the caller's buffer, write_some/write_all
//   try one non-blocking sendmsg and submit an IORING_OP_SENDMSG for what the
//   kernel did not take. Submissions wait in the ring until the loop's next
//   wait(), which submits them and waits for completions in one
//   io_uring_enter;
// - readiness for the rest (accept, connect, datagrams, signals): the op
//   tries its syscall, and on EAGAIN a one-shot IORING_OP_POLL_ADD re-runs
//   it, with the same fd_state flags as epoll.
// Timers stay in the loop's own queue; wait(timeout) is one
// io_uring_submit_and_wait_timeout. Wake-ups: an eventfd under a one-shot
// poll, drained before the pending flag is cleared (as epoll's).
#pragma once

#include <netaio/core/detail/loop_backend.hpp>
#include <netaio/io/detail/eventfd_wake.hpp>
#include <netaio/io/detail/reactor_op.hpp>
#include <netaio/io/detail/registration_table.hpp>

#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace netaio::inline v0::detail {

class uring_backend final : public loop_backend, public reactor_registry {
 public:
  static constexpr const char* name = "io_uring";
  static constexpr io_model model = io_model::completion;

  uring_backend() {
    io_uring_params p{};
    // A completion queue well beyond the submission queue: every op in
    // flight (one per connection waiting in a read) may complete in the
    // same turn. Beyond it the kernel keeps the overflow (IORING_FEAT_NODROP,
    // Linux 5.5) and we reap it on the next turns.
    // COOP_TASKRUN (5.19): completions are not pushed at the loop with an
    // interrupt each; they are run when the loop enters the kernel, which
    // it does anyway, and TASKRUN_FLAG tells a peek that there are some
    // (liburing then enters to collect them), so a wait(0) still sees them.
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    p.cq_entries = cq_entries;
    int r = ::io_uring_queue_init_params(sq_entries, &ring_, &p);
    if (r == -EINVAL) {  // an older kernel: without them
      p = io_uring_params{};
      p.flags = IORING_SETUP_CQSIZE;
      p.cq_entries = cq_entries;
      r = ::io_uring_queue_init_params(sq_entries, &ring_, &p);
    }
    if (r < 0) throw_backend_error(-r, "io_uring_queue_init");
    wakefd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakefd_ < 0) {
      const int e = errno;
      ::io_uring_queue_exit(&ring_);
      throw_backend_error(e, "eventfd");
    }
    arm_wake();
  }
  uring_backend(const uring_backend&) = delete;
  uring_backend& operator=(const uring_backend&) = delete;
  ~uring_backend() override {
    detach_all();
    // Ops still in flight belong to frames that outlive the context: cancel
    // everything and reap it, so the kernel writes into nothing afterwards.
    if (in_flight_ > 0 || wake_armed_) {
      io_uring_sqe* sqe = get_sqe();
      ::io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
      ::io_uring_sqe_set_data64(sqe, tag_ignore);
      for (int tries = 0; (in_flight_ > 0 || wake_armed_) && tries < 100; ++tries) {
        __kernel_timespec ts{0, 100'000'000};
        io_uring_cqe* cqe = nullptr;
        (void)::io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
        while (::io_uring_peek_cqe(&ring_, &cqe) == 0) {
          const std::uint64_t ud = cqe->user_data;
          ::io_uring_cqe_seen(&ring_, cqe);
          if ((ud & tag_mask) == tag_op) {
            auto* op = reinterpret_cast<reactor_op*>(ud);
            op->in_flight_ = false;  // never resumed: its loop is gone
            --in_flight_;
          } else if ((ud & tag_mask) == tag_wake) {
            wake_armed_ = false;
          }
        }
      }
    }
    ::io_uring_queue_exit(&ring_);
    ::close(wakefd_);
  }

  /// Registers `s`: a slot for its readiness polls. No syscall.
  void add(fd_state& s) {
    table_.take(table_.reserve(), s);
    link(s);
  }
  /// Forgets `s`, which is about to be closed. Its armed polls hold the
  /// socket open in the kernel: they are cancelled (their reports, with the
  /// slot's old generation, are ignored).
  void remove(fd_state& s) noexcept {
    if (s.owner != this) return;
    const table::slot& e = table_[s.slot];
    for (std::uint32_t dir = 0; dir < 2; ++dir) {
      if (e.flags & (1u << dir)) {  // a poll armed
        io_uring_sqe* sqe = get_sqe();
        ::io_uring_prep_cancel64(sqe, poll_token(s.slot, e.gen, dir), 0);
        ::io_uring_sqe_set_data64(sqe, tag_ignore);
      }
    }
    table_.release(s);
    unlink(s);
  }

  /// Readiness ops: arms a one-shot poll for a direction of `s` (an op
  /// waits in its slot); its report re-runs the op.
  void watch(fd_state& s, bool read) noexcept {
    table::slot& e = table_[s.slot];
    const std::uint32_t dir = read ? 0 : 1;
    if (e.flags & (1u << dir)) return;
    e.flags |= static_cast<std::uint8_t>(1u << dir);
    io_uring_sqe* sqe = get_sqe();
    ::io_uring_prep_poll_add(sqe, s.fd, read ? (POLLIN | POLLRDHUP) : POLLOUT);
    ::io_uring_sqe_set_data64(sqe, poll_token(s.slot, e.gen, dir));
  }

  // --- completion primitives (the awaiters' `start`/`finish` call these) ---

  /// Submits a receive of up to `len` bytes into `buf` for `op`; its
  /// report comes through wait() (op.perform_ with op.res_).
  void submit_recv(reactor_op& op, void* buf, std::size_t len) noexcept {
    io_uring_sqe* sqe = get_sqe();
    ::io_uring_prep_recv(sqe, op.state_->fd, buf, len, 0);
    track(op, sqe);
  }
  /// Sends `msg` for `op`. With `try_now`, one non-blocking sendmsg first:
  /// true when that finished it (op.res_ set: bytes or -errno). Otherwise
  /// submits it (msg must stay alive until the report) and returns false.
  bool start_sendmsg(reactor_op& op, const msghdr* msg, bool try_now) noexcept {
    if (try_now) {
      ssize_t r;
      do {
        r = ::sendmsg(op.state_->fd, msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      } while (r < 0 && errno == EINTR);
      if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        op.res_ = r >= 0 ? static_cast<int>(r) : -errno;
        return true;
      }
    }
    io_uring_sqe* sqe = get_sqe();
    ::io_uring_prep_sendmsg(sqe, op.state_->fd, msg, MSG_NOSIGNAL);
    track(op, sqe);
    return false;
  }

  void cancel_in_flight(reactor_op& op) noexcept override {
    io_uring_sqe* sqe = get_sqe();
    ::io_uring_prep_cancel64(sqe, reinterpret_cast<std::uint64_t>(&op), 0);
    ::io_uring_sqe_set_data64(sqe, tag_ignore);
  }

  void reap(reactor_op& op) noexcept override {
    cancel_in_flight(op);
    reactor_op* const outer = reaping_;
    reaping_ = &op;
    // A cancelled receive or send on a socket reports at once; the bound is
    // for a kernel that does not, where going on would corrupt memory.
    for (int tries = 0; op.in_flight_; ++tries) {
      if (tries == 600) {
        std::fprintf(stderr, "netaio: io_uring: a cancelled operation never completed\n");
        std::abort();
      }
      __kernel_timespec ts{0, 50'000'000};
      io_uring_cqe* cqe = nullptr;
      (void)::io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
      drain();
    }
    reaping_ = outer;
  }

  std::size_t wait(std::chrono::nanoseconds timeout) override {
    io_uring_cqe* cqe = nullptr;
    if (timeout.count() < 0) {
      (void)::io_uring_submit_and_wait(&ring_, 1);
    } else if (timeout.count() == 0) {
      (void)::io_uring_submit(&ring_);  // no syscall when nothing is queued
    } else {
      __kernel_timespec ts;
      ts.tv_sec = static_cast<long long>(timeout.count() / 1'000'000'000);
      ts.tv_nsec = static_cast<long long>(timeout.count() % 1'000'000'000);
      // -ETIME, -EINTR: the loop simply turns again.
      (void)::io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
    std::size_t progress = drain();
    // Completions that submitted again (the rest of a read or a write, a
    // poll re-armed) are progress the loop has not seen yet: it must not
    // take this turn for an idle one (a virtual clock would jump past the
    // time that work needs). The next wait submits them.
    if (::io_uring_sq_ready(&ring_) > 0) ++progress;
    return progress;
  }

  void wake() noexcept override { signal_eventfd(wakefd_, wake_pending_); }

  /// Ops submitted and not yet reported (for tests).
  std::size_t in_flight() const noexcept { return in_flight_; }

 private:
  static constexpr unsigned sq_entries = 256;
  static constexpr unsigned cq_entries = 8192;
  // user_data: an op's address (8-aligned, tag 0) or a tagged token.
  static constexpr std::uint64_t tag_mask = 7;
  static constexpr std::uint64_t tag_op = 0;
  static constexpr std::uint64_t tag_poll = 1;
  static constexpr std::uint64_t tag_wake = 2;
  static constexpr std::uint64_t tag_ignore = 7;  // cancels (and liburing's own timeouts)
  // Slots: up to 2^28, whose index and 32-bit generation go in a poll's
  // user_data beside its direction and tag (poll_token). A slot's flags:
  // bit 0, a read poll is in flight; bit 1, a write poll.
  static constexpr unsigned index_bits = 28;
  using table = registration_table<std::uint64_t, index_bits>;

  static std::uint64_t poll_token(std::uint32_t index, std::uint32_t gen, std::uint32_t dir) {
    return (std::uint64_t{gen} << 32) | (std::uint64_t{index} << 4) | (dir << 3) | tag_poll;
  }

  void track(reactor_op& op, io_uring_sqe* sqe) noexcept {
    ::io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uint64_t>(&op));
    op.in_flight_ = true;
    op.submitted_to_ = this;
    ++in_flight_;
  }

  /// A free submission entry; when the queue is full, hands it to the
  /// kernel first (and, if the kernel is short of completion room, reaps).
  io_uring_sqe* get_sqe() noexcept {
    for (;;) {
      if (io_uring_sqe* sqe = ::io_uring_get_sqe(&ring_)) return sqe;
      const int r = ::io_uring_submit(&ring_);
      if (r == -EBUSY || r == -EAGAIN) drain();
    }
  }

  /// Handles every completion there is now; returns how many tasks it
  /// scheduled.
  std::size_t drain() noexcept {
    std::size_t scheduled = 0;
    io_uring_cqe* cqe = nullptr;
    while (::io_uring_peek_cqe(&ring_, &cqe) == 0) {
      const std::uint64_t ud = cqe->user_data;
      const int res = cqe->res;
      ::io_uring_cqe_seen(&ring_, cqe);  // first: what follows may submit and drain
      switch (ud & tag_mask) {
        case tag_op:
          scheduled += op_done(*reinterpret_cast<reactor_op*>(ud), res);
          break;
        case tag_poll:
          scheduled += poll_done(ud, res);
          break;
        case tag_wake:
          wake_done();
          break;
        default:
          break;
      }
    }
    return scheduled;
  }

  std::size_t op_done(reactor_op& op, int res) noexcept {
    op.in_flight_ = false;
    --in_flight_;
    op.res_ = res;
    if (&op == reaping_) {  // its frame is being destroyed: just let go
      if (op.state_ != nullptr) leave_slot(op);
      return 0;
    }
    if (!op.perform_(&op)) return 0;  // submitted again
    if (op.state_ != nullptr) leave_slot(op);
    if (op.pending()) {
      op.complete();
    } else {
      op.release();  // cancelled: held until the kernel let go of it
    }
    return 1;
  }
  static void leave_slot(reactor_op& op) noexcept {
    if (op.state_->reader == &op) {
      op.state_->reader = nullptr;
    } else if (op.state_->writer == &op) {
      op.state_->writer = nullptr;
    }
  }

  std::size_t poll_done(std::uint64_t token, int res) noexcept {
    const auto index = static_cast<std::uint32_t>((token >> 4) & table::index_mask);
    const std::uint32_t dir = (token >> 3) & 1;
    table::slot* e = table_.find(index, static_cast<std::uint32_t>(token >> 32));
    if (e == nullptr) return 0;  // a socket closed since
    e->flags &= static_cast<std::uint8_t>(~(1u << dir));
    fd_state* s = e->state;
    // An error report (not a cancellation: ours are for closed sockets,
    // caught above) re-runs the op too, whose syscall then reports it.
    const auto ev = static_cast<std::uint32_t>(res < 0 ? POLLERR : res);
    if (ev & (POLLRDHUP | POLLHUP | POLLERR)) s->read_hup = true;
    if (ev & (POLLHUP | POLLERR)) s->write_hup = true;
    reactor_op*& waiter = dir == 0 ? s->reader : s->writer;
    (dir == 0 ? s->readable : s->writable) = true;
    reactor_op* op = waiter;
    if (op == nullptr) return 0;
    if (!op->perform_(op)) {
      watch(*s, dir == 0);
      return 0;
    }
    waiter = nullptr;
    op->complete();
    return 1;
  }

  void arm_wake() noexcept {
    io_uring_sqe* sqe = get_sqe();
    ::io_uring_prep_poll_add(sqe, wakefd_, POLLIN);
    ::io_uring_sqe_set_data64(sqe, tag_wake);
    wake_armed_ = true;
  }
  // Drain first, then clear the flag, then re-arm (see epoll_backend's
  // drain_wake for why this order loses no wake-up). The poll is armed
  // again before the loop blocks: it reports at once if a wake() wrote the
  // eventfd in between.
  void wake_done() noexcept {
    wake_armed_ = false;
    std::uint64_t v;
    ssize_t r;
    do {
      r = ::read(wakefd_, &v, sizeof v);
    } while (r < 0 && errno == EINTR);
    wake_pending_.store(false, std::memory_order_seq_cst);
    arm_wake();
  }

  io_uring ring_{};
  table table_;
  std::size_t in_flight_ = 0;
  reactor_op* reaping_ = nullptr;
  int wakefd_ = -1;
  bool wake_armed_ = false;
  std::atomic<bool> wake_pending_{false};
};

}  // namespace netaio::inline v0::detail
