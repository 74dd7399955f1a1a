// The pieces shared by every io backend: a registered descriptor with one
// read and one write waiter slot, and the operation that waits in a slot.
// Two models (io_model) run an operation:
// - readiness (epoll, kqueue): it tries its syscall first; only on EAGAIN
//   does it wait, and the backend re-runs its `perform` step on each
//   readiness edge until it finishes, then resumes the task once;
// - completion (io_uring, IOCP): it is submitted to the kernel with its
//   buffer and is "in flight" until the kernel reports a result; `perform`
//   then consumes that result (res_) and either finishes or submits again.
//   The kernel owns the op's memory while it is in flight, so cancellation
//   and close ask the kernel to end it and wait for that report.
#pragma once

#include <netaio/core/detail/wait_op.hpp>
#include <netaio/io/detail/iocp_op.hpp>  // (Windows; empty elsewhere)
#include <netaio/io/detail/socket_types.hpp>

#include <cstddef>
#include <cstdint>

namespace netaio::inline v0::detail {

class reactor_op;
class reactor_registry;

/// How a backend runs socket operations (each backend's `model`).
enum class io_model : unsigned char {
  readiness,   // try the syscall, wait for readiness, re-run (epoll, kqueue)
  completion,  // submit with the buffer, complete with a result (io_uring, IOCP)
};

/// One registered descriptor. Lives at a stable address (heap) for as long
/// as its socket object; the backend keeps a pointer to it per registration.
struct fd_state {
  native_socket fd = invalid_socket;
  reactor_op* reader = nullptr;
  reactor_op* writer = nullptr;
  // Readiness as far as we know. Edge-triggered epoll reports each arrival
  // of data (or room) once, so the backend sets a flag on every edge, waiter
  // or not, and a stream operation clears it when a short transfer or EAGAIN
  // shows the kernel buffer is drained (full). While a flag is clear, an
  // operation waits for the next edge instead of making a syscall that
  // would fail; an edge that comes in between is never lost, since it sets
  // the flag before anything looks at it again.
  bool readable = true;
  bool writable = true;
  // Sticky: the peer closed or the socket failed (EPOLLRDHUP/HUP/ERR). A
  // short read may then be followed by end of stream or an error whose
  // edge was already taken, so the flags above are no longer cleared.
  bool read_hup = false;
  bool write_hup = false;
  /// Short transfers and EAGAIN call these.
  void drained_read() noexcept { readable = read_hup; }
  void drained_write() noexcept { writable = write_hup; }
  // A socket error the backend took from the kernel for us: libkqueue reads
  // SO_ERROR (which clears it) to put it in its event, so the socket's own
  // calls no longer report it. Always 0 on epoll and kernel kqueues.
  int taken_error = 0;
  /// The taken error, once (0 if none): reported where the kernel would
  /// have reported it, after the data queued before it.
  int take_error() noexcept {
    const int e = taken_error;
    taken_error = 0;
    return e;
  }
  reactor_registry* owner = nullptr;  // null once the io_context is gone
  std::uint32_t slot = 0;             // the backend's registration slot
#if defined(_WIN32)
  /// IOCP: FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is on (a call that
  /// succeeds at once queues no packet).
  bool skip_on_success = false;
#endif
  fd_state* prev = nullptr;  // in the owner's list
  fd_state* next = nullptr;
};

/// How an operation ended, besides success and task cancellation.
enum class op_end : unsigned char {
  none,
  aborted,  // the io_context was closed: reported as operation_cancelled
  closed,   // the socket was closed under it: io_error(closed)
};

class reactor_op : public wait_op {
 public:
  /// Readiness: runs the syscall; true when finished (success or error_
  /// set), false to keep waiting for the next edge. Completion: consumes
  /// res_; true when finished, false when it has submitted again.
  using perform_fn = bool (*)(reactor_op*) noexcept;

  perform_fn perform_ = nullptr;
  fd_state* state_ = nullptr;  // null once detached (closed) while in flight
  int error_ = 0;              // errno of a failure, 0 on success
  op_end end_ = op_end::none;
  // Completion model only: submitted, and the kernel has not reported yet.
  bool in_flight_ = false;
  int res_ = 0;                               // the report: bytes (>= 0) or -errno
  reactor_registry* submitted_to_ = nullptr;  // the backend it is in flight on
#if defined(_WIN32)
  /// IOCP: the OVERLAPPED the kernel is given (its `user` is this op).
  iocp_op overlapped_;
#endif

  /// Ends the op without its syscall (close of the socket or the context).
  void end_with(op_end how) noexcept {
    end_ = how;
    complete();
  }
};

/// Keeps the list of live registrations of one io_context so that closing
/// it can end every pending operation and detach every socket.
class reactor_registry {
 public:
  reactor_registry() = default;
  reactor_registry(const reactor_registry&) = delete;
  reactor_registry& operator=(const reactor_registry&) = delete;

  std::size_t registered() const noexcept { return count_; }
  bool closed() const noexcept { return closed_; }

  /// Pending operations across all registered descriptors.
  std::size_t pending_operations() const noexcept {
    std::size_t n = 0;
    for (fd_state* s = head_; s != nullptr; s = s->next)
      n += (s->reader != nullptr) + (s->writer != nullptr);
    return n;
  }

  /// Ends every pending operation with cancellation; later operations on
  /// these descriptors are refused the same way.
  void abort_all() noexcept {
    closed_ = true;
    for (fd_state* s = head_; s != nullptr; s = s->next)
      end_waiters(*s, op_end::aborted);
  }

  /// Ends the operations waiting on `s` (its socket is being closed, or the
  /// context). One in flight (completion model) is detached from `s` and
  /// asked to end; it completes, with `how`, when the kernel reports.
  void end_waiters(fd_state& s, op_end how) noexcept {
    end_one(s.reader, how);
    end_one(s.writer, how);
  }

  /// Completion model: asks the kernel to end `op` (in flight); its report
  /// still comes, through the backend's wait().
  virtual void cancel_in_flight(reactor_op& op) noexcept { (void)op; }
  /// Completion model: for the destructor of an op in flight (its frame is
  /// being destroyed): cancels it and waits for the kernel's report, so the
  /// kernel never writes into freed memory. The task is not resumed.
  virtual void reap(reactor_op& op) noexcept { (void)op; }

 protected:
  void link(fd_state& s) noexcept {
    s.owner = this;
    s.prev = nullptr;
    s.next = head_;
    if (head_ != nullptr) head_->prev = &s;
    head_ = &s;
    ++count_;
  }
  void unlink(fd_state& s) noexcept {
    if (s.owner != this) return;
    if (s.prev != nullptr) {
      s.prev->next = s.next;
    } else {
      head_ = s.next;
    }
    if (s.next != nullptr) s.next->prev = s.prev;
    s.prev = s.next = nullptr;
    s.owner = nullptr;
    --count_;
  }
  /// The context is going away: its sockets must not call back into it.
  void detach_all() noexcept {
    while (head_ != nullptr)
      unlink(*head_);
  }
  ~reactor_registry() = default;

 private:
  void end_one(reactor_op*& slot, op_end how) noexcept {
    reactor_op* op = slot;
    if (op == nullptr) return;
    slot = nullptr;
    if (!op->in_flight_) {
      op->end_with(how);
      return;
    }
    op->end_ = how;
    op->state_ = nullptr;  // `s` may be gone before the report comes
    cancel_in_flight(*op);
  }

  fd_state* head_ = nullptr;
  std::size_t count_ = 0;
  bool closed_ = false;
};

}  // namespace netaio::inline v0::detail
