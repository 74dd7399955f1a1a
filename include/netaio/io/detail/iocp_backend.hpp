// The Windows backend: one I/O completion port per io_context. Completion
// based, unlike epoll and kqueue: an operation is submitted with its buffer
// and its completion packet comes out of the port later (iocp_op.hpp says
// how an operation uses it). Timers stay in the loop's own queue; wait()
// blocks in GetQueuedCompletionStatusEx for at most the time to the next
// timer; wake() posts a packet with the wake key.
#pragma once

#include <netaio/core/detail/loop_backend.hpp>
#include <netaio/detail/config.hpp>
#include <netaio/io/detail/iocp_op.hpp>
#include <netaio/io/detail/socket_types.hpp>
#include <netaio/io/error.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <type_traits>

namespace netaio::inline v0::detail {

static_assert(std::is_standard_layout_v<iocp_op>, "iocp_op::from() needs standard layout");

class iocp_backend final : public loop_backend {
 public:
  static constexpr const char* name = "iocp";

  /// What submitted() found.
  enum class submit_result : unsigned char {
    done,     // finished now: no packet will come; op.error/op.bytes hold the result
    pending,  // the packet will come: the op's complete function runs from wait()
  };

  iocp_backend() {
    if (const int e = winsock_startup(); e != 0) fail("WSAStartup", static_cast<unsigned long>(e));
    port_ = ::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
    if (port_ == nullptr) fail("CreateIoCompletionPort", ::GetLastError());
  }
  iocp_backend(const iocp_backend&) = delete;
  iocp_backend& operator=(const iocp_backend&) = delete;
  ~iocp_backend() override {
    // Ops still pending (a task left suspended when the loop was destroyed)
    // own memory the kernel may still write: cancel them and take their
    // packets before the port goes. Their tasks are never resumed (the
    // loop is gone), exactly as a readiness backend leaves its waiters.
    if (pending_ > 0) {
      for (iocp_socket* s = head_; s != nullptr; s = s->next)
        cancel_all(*s);
      const ULONGLONG give_up = ::GetTickCount64() + 10'000;  // (a packet that never comes)
      while (pending_ > 0 && ::GetTickCount64() < give_up)
        drain(100, false);
    }
    while (head_ != nullptr)
      unlink(*head_);
    ::CloseHandle(port_);
  }

  // --- sockets -----------------------------------------------------------
  /// Associates `s.socket` with this context's port (once per socket) and
  /// turns on FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (a call that succeeds at
  /// once queues no packet) and FILE_SKIP_SET_EVENT_ON_HANDLE (the handle's
  /// event is not signalled: nobody waits on it). Throws io_error.
  void add(iocp_socket& s) {
    NETAIO_ASSERT(s.owner == nullptr, "a socket is registered with one io_context at a time");
    if (::CreateIoCompletionPort(s.handle(), port_, socket_key, 0) == nullptr)
      fail("CreateIoCompletionPort(socket)", ::GetLastError());
    // Without the mode (refused, e.g. by a layered service provider that is
    // not IFS) every call queues a packet, which is correct, only slower.
    s.skip_on_success = ::SetFileCompletionNotificationModes(
                            s.handle(), FILE_SKIP_COMPLETION_PORT_ON_SUCCESS |
                                            FILE_SKIP_SET_EVENT_ON_HANDLE) != FALSE;
    link(s);
  }
  /// Forgets `s`, before it is closed. It must have no pending op (close
  /// it, or cancel_all(), and let the packets come first): the port keeps
  /// the association until the handle is closed, and a packet of an op
  /// still pending would reach memory that is gone.
  void remove(iocp_socket& s) noexcept {
    if (s.owner != this) return;
    NETAIO_ASSERT(s.pending == 0, "a socket was unregistered with operations pending");
    unlink(s);
  }

  // --- operations (see iocp_op.hpp) ---------------------------------------
  /// Prepares `op` for an overlapped call on `s`: a fresh OVERLAPPED, and
  /// the op counted as pending on `s` until it is done.
  void begin(iocp_op& op, iocp_socket& s) noexcept {
    NETAIO_ASSERT(!op.in_flight, "an overlapped operation was started twice");
    NETAIO_ASSERT(s.owner == this, "an operation on a socket of another io_context");
    op.ov = OVERLAPPED{};
    op.error = 0;
    op.bytes = 0;
    op.aborted = false;
    op.in_flight = true;
    op.owner_socket = &s;
    op.prev = nullptr;
    op.next = s.ops;
    if (s.ops != nullptr) s.ops->prev = &op;
    s.ops = &op;
    ++s.pending;
    ++pending_;
  }

  /// After the overlapped call: `error` is 0 if it succeeded at once, else
  /// what WSAGetLastError() (or GetLastError()) said; `bytes` is what an
  /// immediate success transferred.
  submit_result submitted(iocp_op& op, unsigned long error, unsigned long bytes = 0) noexcept {
    if (error == WSA_IO_PENDING || (error == 0 && !op.owner_socket->skip_on_success))
      return submit_result::pending;
    op.error = error;
    op.bytes = bytes;
    finish(op);
    return submit_result::done;
  }

  /// Asks the kernel to end a pending op early (CancelIoEx). The op still
  /// ends through its packet (ERROR_OPERATION_ABORTED, or its real result
  /// if that came first). False if there was nothing left to cancel.
  bool cancel(iocp_op& op) noexcept {
    if (!op.in_flight || op.owner_socket == nullptr) return false;
    return ::CancelIoEx(op.owner_socket->handle(), &op.ov) != FALSE;
  }
  /// For an awaiter destroyed while its op is pending (a task frame torn
  /// down at the end of a stop's grace period): cancels the op and blocks
  /// until its packet is out of the port, so the OVERLAPPED and buffers can
  /// go. The op's complete function is not called; packets of other ops
  /// that come first are dispatched as wait() would. Loop thread only.
  void abandon(iocp_op& op) noexcept {
    if (!op.in_flight) return;
    op.on_complete = nullptr;
    if (op.owner_socket != nullptr) ::CancelIoEx(op.owner_socket->handle(), &op.ov);
    while (op.in_flight)
      drain(INFINITE, true);
  }
  /// cancel() for every pending op of `s`.
  void cancel_all(iocp_socket& s) noexcept {
    for (iocp_op* op = s.ops; op != nullptr; op = op->next)
      ::CancelIoEx(s.handle(), &op->ov);
  }

  /// Completes `op` through the port, as if the kernel had: its complete
  /// function runs from a later wait() with `error` and `bytes`. For an op
  /// begun with begin() that submitted() said is done, when the awaiter
  /// wants it to end on the next turn rather than inline. False (and
  /// nothing queued) if the port refused.
  bool post(iocp_op& op, unsigned long error, unsigned long bytes) noexcept {
    NETAIO_ASSERT(!op.in_flight, "post() of an op whose own packet is still to come");
    op.error = error;
    op.bytes = bytes;
    op.in_flight = true;
    op.owner_socket = nullptr;  // no registration: nothing to cancel
    ++pending_;
    if (::PostQueuedCompletionStatus(port_, bytes, posted_key, &op.ov) == FALSE) {
      op.in_flight = false;
      --pending_;
      return false;
    }
    return true;
  }

  // --- what io_context asks ------------------------------------------------
  std::size_t registered() const noexcept { return count_; }
  /// Ops whose completion has not been delivered yet.
  std::size_t pending_operations() const noexcept { return pending_; }
  bool closed() const noexcept { return closed_; }
  /// io_context::close(): cancels every pending op (each ends through its
  /// packet, marked aborted: reported as operation_cancelled); callers
  /// refuse new ops once closed() is true.
  void abort_all() noexcept {
    closed_ = true;
    for (iocp_socket* s = head_; s != nullptr; s = s->next) {
      for (iocp_op* op = s->ops; op != nullptr; op = op->next)
        op->aborted = true;
      cancel_all(*s);
    }
  }

  // --- loop_backend --------------------------------------------------------
  std::size_t wait(std::chrono::nanoseconds timeout) override {
    DWORD ms = INFINITE;
    if (timeout.count() >= 0) {
      // Round up so a timer is never woken for early and spun on; INFINITE
      // is 0xFFFFFFFF, so the longest finite wait stops just below it.
      const auto m = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
      ms = m >= static_cast<long long>(INFINITE) ? INFINITE - 1 : static_cast<DWORD>(m);
    }
    return drain(ms, true);
  }

  void wake() noexcept override {
    if (wake_pending_.exchange(true, std::memory_order_seq_cst)) return;
    // At most one wake packet is in the port at a time (the flag above).
    ::PostQueuedCompletionStatus(port_, 0, wake_key, nullptr);
  }

  HANDLE port() const noexcept { return port_; }

 private:
  static constexpr ULONG_PTR socket_key = 1;
  static constexpr ULONG_PTR posted_key = 2;
  static constexpr ULONG_PTR wake_key = 3;
  static constexpr ULONG max_entries = 128;

  /// One GetQueuedCompletionStatusEx; dispatches what it returns. Returns
  /// how many ops completed.
  std::size_t drain(DWORD ms, bool dispatch) noexcept {
    OVERLAPPED_ENTRY entries[max_entries];
    ULONG n = 0;
    if (::GetQueuedCompletionStatusEx(port_, entries, max_entries, &n, ms, FALSE) == FALSE)
      return 0;  // WAIT_TIMEOUT (or an alertable wake): the loop turns again
    std::size_t completed = 0;
    for (ULONG i = 0; i < n; ++i) {
      OVERLAPPED_ENTRY& e = entries[i];
      if (e.lpCompletionKey == wake_key && e.lpOverlapped == nullptr) {
        // Taking the packet is the drain; the flag is cleared after it, as
        // in epoll_backend::drain_wake (see there why this order, and not
        // the other, loses no wake-up).
        wake_pending_.store(false, std::memory_order_seq_cst);
        continue;
      }
      if (e.lpOverlapped == nullptr) continue;
      iocp_op* op = iocp_op::from(e.lpOverlapped);
      if (e.lpCompletionKey != posted_key) {
        op->bytes = e.dwNumberOfBytesTransferred;
        op->error = result_of(*op);
      }
      finish(*op);
      ++completed;
      if (dispatch && op->on_complete != nullptr) op->on_complete(op);
    }
    return completed;
  }

  /// The error of a completed op: 0, or the Winsock error its NTSTATUS
  /// stands for (WSAGetOverlappedResult translates it, as Winsock's own
  /// calls would report it).
  static unsigned long result_of(iocp_op& op) noexcept {
    const auto status = static_cast<std::uint32_t>(op.ov.Internal);
    if (status == 0) return 0;                                  // STATUS_SUCCESS
    if (status == 0xC0000120u) return ERROR_OPERATION_ABORTED;  // STATUS_CANCELLED
    DWORD bytes = 0;
    DWORD flags = 0;
    if (op.owner_socket != nullptr &&
        ::WSAGetOverlappedResult(op.owner_socket->socket, &op.ov, &bytes, FALSE, &flags) == FALSE) {
      const int e = ::WSAGetLastError();
      if (e != 0) return static_cast<unsigned long>(e);
    }
    return ERROR_GEN_FAILURE;  // (an NTSTATUS Winsock did not translate)
  }

  /// The op is done: no longer pending, out of its socket's list.
  void finish(iocp_op& op) noexcept {
    if (iocp_socket* s = op.owner_socket) {
      (op.prev != nullptr ? op.prev->next : s->ops) = op.next;
      if (op.next != nullptr) op.next->prev = op.prev;
      op.prev = op.next = nullptr;
      --s->pending;
    }
    op.in_flight = false;
    --pending_;
  }

  void link(iocp_socket& s) noexcept {
    s.owner = this;
    s.prev = nullptr;
    s.next = head_;
    if (head_ != nullptr) head_->prev = &s;
    head_ = &s;
    ++count_;
  }
  void unlink(iocp_socket& s) noexcept {
    (s.prev != nullptr ? s.prev->next : head_) = s.next;
    if (s.next != nullptr) s.next->prev = s.prev;
    s.prev = s.next = nullptr;
    s.owner = nullptr;
    --count_;
  }

  [[noreturn]] static void fail(const char* what, unsigned long e) {
    throw io_error(
        e == ERROR_NOT_ENOUGH_MEMORY || e == ERROR_NO_SYSTEM_RESOURCES || e == WSAEMFILE
            ? io_errc::too_many_open_files
            : io_errc::system,
        std::string("netaio: ") + what + " failed: " + system_message(static_cast<int>(e)),
        std::error_code(static_cast<int>(e), std::system_category()));
  }

  HANDLE port_ = nullptr;
  iocp_socket* head_ = nullptr;
  std::size_t count_ = 0;
  std::size_t pending_ = 0;
  bool closed_ = false;
  std::atomic<bool> wake_pending_{false};
};

}  // namespace netaio::inline v0::detail
