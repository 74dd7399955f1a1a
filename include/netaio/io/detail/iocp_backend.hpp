// The Windows backend: one I/O completion port per io_context. Completion
// based, unlike epoll and kqueue: an operation is submitted with its buffer
// and its completion packet comes out of the port later (iocp_op.hpp says
// how an operation uses it). Every socket operation runs this way: the
// awaiters' completion paths (socket_handle.hpp) call the primitives below
// (WSARecv, WSASend, AcceptEx, ConnectEx, WSARecvFrom, WSASendTo), and the
// op's packet runs its `finish` step, as io_uring's reports do. Sockets are
// registered as fd_state in reactor_registry's list (the one list of the
// io_context's sockets); pending overlapped ops are in a list of their own,
// so closing the context or destroying it can cancel every one. Timers
// stay in the loop's own queue; wait() blocks in GetQueuedCompletionStatusEx
// for at most the time to the next timer; wake() posts a packet with the
// wake key.
#pragma once

#include <netaio/core/detail/loop_backend.hpp>
#include <netaio/detail/config.hpp>
#include <netaio/io/detail/iocp_op.hpp>
#include <netaio/io/detail/reactor_op.hpp>
#include <netaio/io/detail/sockaddr.hpp>
#include <netaio/io/detail/socket_types.hpp>
#include <netaio/io/error.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>
#include <type_traits>

namespace netaio::inline v0::detail {

static_assert(std::is_standard_layout_v<iocp_op>, "iocp_op::from() needs standard layout");

class iocp_backend final : public loop_backend, public reactor_registry {
 public:
  static constexpr const char* name = "iocp";
  static constexpr io_model model = io_model::completion;

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
    detach_all();
    // Ops still pending (a task left suspended when the loop was destroyed)
    // own memory the kernel may still write: cancel them and take their
    // packets before the port goes. Their tasks are never resumed (the
    // loop is gone), exactly as a readiness backend leaves its waiters.
    if (pending_ > 0) {
      for (iocp_op* op = ops_; op != nullptr; op = op->next)
        cancel(*op);
      const ULONGLONG give_up = ::GetTickCount64() + 10'000;  // (a packet that never comes)
      while (pending_ > 0 && ::GetTickCount64() < give_up)
        drain(100, false);
    }
    ::CloseHandle(port_);
  }

  // --- sockets -----------------------------------------------------------
  /// Associates `s.fd` with this context's port (once per socket) and
  /// turns on FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (a call that succeeds at
  /// once queues no packet) and FILE_SKIP_SET_EVENT_ON_HANDLE (the handle's
  /// event is not signalled: nobody waits on it). Throws io_error.
  void add(fd_state& s) {
    NETAIO_ASSERT(s.owner == nullptr, "a socket is registered with one io_context at a time");
    const auto h = reinterpret_cast<HANDLE>(s.fd);
    if (::CreateIoCompletionPort(h, port_, socket_key, 0) == nullptr)
      fail("CreateIoCompletionPort(socket)", ::GetLastError());
    // Without the mode (refused, e.g. by a layered service provider that is
    // not IFS) every call queues a packet, which is correct, only slower.
    s.skip_on_success =
        ::SetFileCompletionNotificationModes(
            h, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE) != FALSE;
    link(s);
  }
  /// Forgets `s`, before it is closed. Its ops in flight were detached
  /// (end_waiters) and asked to end; closing the socket ends them too, and
  /// their packets still come to this port.
  void remove(fd_state& s) noexcept { unlink(s); }

  // --- overlapped operations (see iocp_op.hpp) -----------------------------
  /// Prepares `op` for an overlapped call on `socket`: a fresh OVERLAPPED,
  /// and the op counted as pending until it is done.
  void begin(iocp_op& op, native_socket socket) noexcept {
    NETAIO_ASSERT(!op.in_flight, "an overlapped operation was started twice");
    op.ov = OVERLAPPED{};
    op.error = 0;
    op.bytes = 0;
    op.aborted = false;
    op.socket = socket;
    track(op);
  }

  /// After the overlapped call: `error` is 0 if it succeeded at once, else
  /// what WSAGetLastError() said; `bytes` is what an immediate success
  /// transferred. `skip_on_success`: the socket's mode (fd_state).
  submit_result submitted(iocp_op& op, unsigned long error, unsigned long bytes,
                          bool skip_on_success = true) noexcept {
    if (error == WSA_IO_PENDING || (error == 0 && !skip_on_success)) return submit_result::pending;
    op.error = error;
    op.bytes = bytes;
    finish(op);
    return submit_result::done;
  }

  /// Asks the kernel to end a pending op early (CancelIoEx). The op still
  /// ends through its packet (ERROR_OPERATION_ABORTED, or its real result
  /// if that came first). False if there was nothing left to cancel.
  ///
  /// CancelIoEx that finds nothing (ERROR_NOT_FOUND) for an op whose packet
  /// has not come is asked again on every wait until the packet comes. On
  /// Windows that answer means the op has just completed and its packet is
  /// in the port: the next wait takes it, and the retry costs one call.
  /// Wine (8.0) also gives it for a socket op that is pending but between
  /// two attempts of its wineserver async (a send woken by writability
  /// while the peer's window is still closing): the cancel is dropped, the
  /// async goes back to waiting, and without the retry its packet never
  /// comes and the cancelled task hangs (seen in io_cancel's "cancel write
  /// to a peer that never reads", under load: CancelIoEx FALSE with 1168).
  bool cancel(iocp_op& op) noexcept {
    if (!op.in_flight || op.socket == invalid_socket) return false;
    if (::CancelIoEx(reinterpret_cast<HANDLE>(op.socket), &op.ov) != FALSE) {
      forget_cancel_again(op);
      return true;
    }
    if (::GetLastError() == ERROR_NOT_FOUND && !op.cancel_again) {
      op.cancel_again = true;
      ++cancels_again_;
    }
    return false;
  }
  /// For an op whose memory is about to go while it is pending (a task
  /// frame torn down at the end of a stop's grace period): cancels it and
  /// blocks until its packet is out of the port. Its complete function is
  /// not called; packets of other ops that come first are dispatched as
  /// wait() would. Loop thread only.
  void abandon(iocp_op& op) noexcept {
    if (!op.in_flight) return;
    op.on_complete = nullptr;
    cancel(op);
    // A cancelled socket call reports at once; the bound is for one that
    // does not, where going on would let the kernel write into freed memory.
    const ULONGLONG give_up = ::GetTickCount64() + 30'000;
    while (op.in_flight) {
      if (::GetTickCount64() > give_up) {
        std::fprintf(stderr, "netaio: iocp: a cancelled operation never completed\n");
        std::abort();
      }
      drain(100, true);
    }
  }

  /// Completes `op` through the port, as if the kernel had: its complete
  /// function runs from a later wait() with `error` and `bytes`. For an op
  /// that finished at once when its caller needs it to end on a later turn.
  /// False (and nothing queued) if the port refused.
  bool post(iocp_op& op, unsigned long error, unsigned long bytes) noexcept {
    NETAIO_ASSERT(!op.in_flight, "post() of an op whose own packet is still to come");
    op.error = error;
    op.bytes = bytes;
    op.socket = invalid_socket;  // nothing to cancel
    track(op);
    if (::PostQueuedCompletionStatus(port_, bytes, posted_key, &op.ov) == FALSE) {
      finish(op);
      return false;
    }
    return true;
  }

  // --- completion primitives (the awaiters' `start`/`finish` call these) ---
  // Each takes the socket operation `op` (in the slot of its fd_state) and
  // reports through op.res_: bytes (>= 0) or -error (a WSAE* code). The
  // submit_* ones always complete through a packet (a call that finished
  // at once is posted), so the op is in its slot before it can complete;
  // start_* ones may finish at once (true, res_ set).

  /// WSARecv of up to `len` bytes into `buf`.
  void submit_recv(reactor_op& op, void* buf, std::size_t len) noexcept {
    WSABUF b;
    set_io_buffer(b, buf, len);
    op.overlapped_.stream_receive = true;  // (an awaiter does one kind of call all its life)
    issue_later(op, [&](OVERLAPPED* ov, DWORD& n) {
      DWORD flags = 0;
      return ::WSARecv(op.state_->fd, &b, 1, &n, &flags, ov, nullptr);
    });
  }
  /// WSASend of `msg`. `try_now` is for backends that try a send before
  /// submitting one; an overlapped send that can finish at once does.
  bool start_sendmsg(reactor_op& op, const send_message* msg, bool try_now) noexcept {
    (void)try_now;
    return issue_now(op, [&](OVERLAPPED* ov, DWORD& n) {
      return ::WSASend(op.state_->fd, msg->buffers, msg->count, &n, 0, ov, nullptr);
    });
  }
  /// WSASendTo of one datagram.
  bool start_sendto(reactor_op& op, WSABUF* buf, const sockaddr* to, int to_len) noexcept {
    return issue_now(op, [&](OVERLAPPED* ov, DWORD& n) {
      return ::WSASendTo(op.state_->fd, buf, 1, &n, 0, to, to_len, ov, nullptr);
    });
  }
  /// WSARecvFrom of one datagram; `from`, `from_len` and `flags` are
  /// written when it completes, so they live in the awaiter.
  void submit_recvfrom(reactor_op& op, WSABUF* buf, sockaddr* from, INT* from_len,
                       DWORD* flags) noexcept {
    issue_later(op, [&](OVERLAPPED* ov, DWORD& n) {
      *flags = 0;
      return ::WSARecvFrom(op.state_->fd, buf, 1, &n, flags, from, from_len, ov, nullptr);
    });
  }
  /// AcceptEx into a fresh socket of `family`, stored in `accepted` (the
  /// awaiter's, so that it can be closed whatever happens); `addresses`
  /// has room for both addresses, `address_room` bytes each.
  void submit_accept(reactor_op& op, int family, native_socket& accepted, void* addresses,
                     DWORD address_room) noexcept {
    accepted = open_overlapped_socket(family, SOCK_STREAM);
    if (accepted == invalid_socket) {
      post_error(op, static_cast<unsigned long>(::WSAGetLastError()));
      return;
    }
    const native_socket a = accepted;
    issue_later(op, [&](OVERLAPPED* ov, DWORD& n) {
      return ::AcceptEx(op.state_->fd, a, addresses, 0, address_room, address_room, &n, ov) != FALSE
                 ? 0
                 : SOCKET_ERROR;
    });
  }
  /// An accept error that means only that this connection died in the
  /// queue: the next one is taken.
  static bool connection_aborted(int e) noexcept {
    return e == WSAECONNRESET || e == WSAECONNABORTED || e == ERROR_NETNAME_DELETED;
  }
  /// ConnectEx to `to`. The socket must be bound: an unbound one is bound
  /// to the wildcard address of its family first (what connect() does).
  void submit_connect(reactor_op& op, const sockaddr* to, int to_len) noexcept {
    const native_socket fd = op.state_->fd;
    sockaddr_storage any{};
    any.ss_family = to->sa_family;
    const int any_len =
        to->sa_family == AF_INET ? int{sizeof(sockaddr_in)} : int{sizeof(sockaddr_in6)};
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&any), any_len) != 0 &&
        ::WSAGetLastError() != WSAEINVAL) {  // WSAEINVAL: bound already
      post_error(op, static_cast<unsigned long>(::WSAGetLastError()));
      return;
    }
    LPFN_CONNECTEX connect_ex = connect_ex_of(fd);
    if (connect_ex == nullptr) {
      post_error(op, static_cast<unsigned long>(::WSAGetLastError()));
      return;
    }
    issue_later(op, [&](OVERLAPPED* ov, DWORD& n) {
      return connect_ex(fd, to, to_len, nullptr, 0, &n, ov) != FALSE ? 0 : SOCKET_ERROR;
    });
  }
  /// After a ConnectEx that succeeded: the socket gets its connected state
  /// (getpeername, shutdown). 0 or the error.
  static int connected(native_socket fd) noexcept {
    return ::setsockopt(fd, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0) == 0
               ? 0
               : ::WSAGetLastError();
  }
  /// After an AcceptEx that succeeded: `accepted` inherits the listener's
  /// properties and gets its addresses. 0 or the error.
  static int accepted(native_socket listener, native_socket accepted) noexcept {
    return ::setsockopt(accepted, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                        reinterpret_cast<const char*>(&listener), sizeof listener) == 0
               ? 0
               : ::WSAGetLastError();
  }
  /// The error of a receive whose datagram was longer than the buffer.
  static constexpr int truncated_datagram = WSAEMSGSIZE;
  /// Bytes the op's last call transferred, also when it failed (a
  /// truncated datagram: WSAEMSGSIZE with the part that fit).
  static std::size_t transferred(const reactor_op& op) noexcept { return op.overlapped_.bytes; }

  void cancel_in_flight(reactor_op& op) noexcept override { cancel(op.overlapped_); }

  void reap(reactor_op& op) noexcept override {
    abandon(op.overlapped_);
    op.in_flight_ = false;
    if (op.state_ != nullptr) leave_slot(op);
  }

  // --- what io_context asks ------------------------------------------------
  /// Operations waiting now: socket operations in their sockets' slots (one
  /// ended by a close is no longer counted, though its packet is still to
  /// come, as on io_uring), and other overlapped ops not completed yet.
  std::size_t pending_operations() const noexcept {
    return reactor_registry::pending_operations() + (pending_ - socket_ops_pending_);
  }
  /// io_context::close(): ends every socket operation with cancellation
  /// (each through its packet) and cancels the other pending ops, marked
  /// aborted; callers refuse new ops once closed() is true.
  void abort_all() noexcept {
    reactor_registry::abort_all();
    for (iocp_op* op = ops_; op != nullptr; op = op->next) {
      op->aborted = true;
      cancel(*op);
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
  /// Completion packets dispatched so far (tests observe the kernel's
  /// progress by it: Windows has no count of unacknowledged bytes).
  std::size_t completions() const noexcept { return completions_; }

 private:
  static constexpr ULONG_PTR socket_key = 1;
  static constexpr ULONG_PTR posted_key = 2;
  static constexpr ULONG_PTR wake_key = 3;
  static constexpr ULONG max_entries = 128;

  /// Starts the overlapped call `call(OVERLAPPED*, DWORD& bytes)` (returns
  /// 0 or SOCKET_ERROR) for the socket operation `op`. True when it
  /// finished at once (res_ set); false when its packet will come.
  template <class Call>
  bool issue_now(reactor_op& op, Call call) noexcept {
    prepare(op);
    DWORD n = 0;
    const unsigned long e = call(op.overlapped_.overlapped(), n) == 0
                                ? 0
                                : static_cast<unsigned long>(::WSAGetLastError());
    if (submitted(op.overlapped_, e, n, op.state_->skip_on_success) == submit_result::pending) {
      op.in_flight_ = true;
      op.submitted_to_ = this;
      return false;
    }
    op.res_ = result_code(op.overlapped_);
    return true;
  }
  /// issue_now(), with a result that came at once posted to the port.
  template <class Call>
  void issue_later(reactor_op& op, Call call) noexcept {
    if (!issue_now(op, call)) return;
    post_result(op, op.overlapped_.error, op.overlapped_.bytes);
  }
  /// Ends `op` with `error` through the port (a call that could not start).
  void post_error(reactor_op& op, unsigned long error) noexcept {
    op.overlapped_.on_complete = &socket_op_done;
    op.overlapped_.user = &op;
    post_result(op, error, 0);
  }
  void post_result(reactor_op& op, unsigned long error, unsigned long bytes) noexcept {
    op.in_flight_ = true;
    op.submitted_to_ = this;
    if (!post(op.overlapped_, error, bytes)) {
      // (The port refused a packet: out of memory.) Nothing would ever
      // end the op, and its task would hang: this cannot go on.
      std::fprintf(stderr, "netaio: iocp: PostQueuedCompletionStatus failed\n");
      std::abort();
    }
  }
  void prepare(reactor_op& op) noexcept {
    op.overlapped_.on_complete = &socket_op_done;
    op.overlapped_.user = &op;
    begin(op.overlapped_, op.state_->fd);
  }

  static int result_code(const iocp_op& o) noexcept {
    if (o.error == WSAESHUTDOWN && o.stream_receive) return 0;  // end of stream
    return o.error != 0 ? -static_cast<int>(o.error) : static_cast<int>(o.bytes);
  }

  /// The packet of a socket operation: as io_uring's op_done.
  static void socket_op_done(iocp_op* o) noexcept {
    auto& op = *static_cast<reactor_op*>(o->user);
    op.in_flight_ = false;
    op.res_ = result_code(*o);
    if (!op.perform_(&op)) return;  // submitted again
    if (op.state_ != nullptr) leave_slot(op);
    if (op.pending()) {
      op.complete();
    } else {
      op.release();  // cancelled: held until the kernel let go of it
    }
  }
  static void leave_slot(reactor_op& op) noexcept {
    if (op.state_->reader == &op) {
      op.state_->reader = nullptr;
    } else if (op.state_->writer == &op) {
      op.state_->writer = nullptr;
    }
  }

  /// ConnectEx is not exported by mswsock: it is asked of the socket's
  /// provider, once per process (every socket here is Microsoft's TCP;
  /// io_contexts on several threads may ask at once: the answer is the same).
  static LPFN_CONNECTEX connect_ex_of(native_socket fd) noexcept {
    static std::atomic<LPFN_CONNECTEX> found{nullptr};
    LPFN_CONNECTEX f = found.load(std::memory_order_acquire);
    if (f == nullptr) {
      GUID guid = WSAID_CONNECTEX;
      DWORD n = 0;
      if (::WSAIoctl(fd, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &f, sizeof f, &n,
                     nullptr, nullptr) != 0)
        return nullptr;
      found.store(f, std::memory_order_release);
    }
    return f;
  }

  void track(iocp_op& op) noexcept {
    if (op.user != nullptr) ++socket_ops_pending_;
    op.in_flight = true;
    op.prev = nullptr;
    op.next = ops_;
    if (ops_ != nullptr) ops_->prev = &op;
    ops_ = &op;
    ++pending_;
  }

  /// One GetQueuedCompletionStatusEx; dispatches what it returns. Returns
  /// how many ops completed.
  std::size_t drain(DWORD ms, bool dispatch) noexcept {
    if (cancels_again_ > 0) {
      // Ask again, and come back within a millisecond to ask again if the
      // packets have not come by then (see cancel()). A wait of 0 waits
      // that millisecond too: under a virtual clock a wait that returns
      // nothing lets time jump, and a cancelled op is not idle.
      cancel_again();
      if (cancels_again_ > 0) ms = 1;
    }
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
      ++completions_;
      if (dispatch) {
        if (op->on_complete != nullptr) op->on_complete(op);
      } else if (op->on_complete == &socket_op_done) {
        // The context is going: the task is never resumed, and its
        // awaiter must not reap an op on a backend that is gone.
        static_cast<reactor_op*>(op->user)->in_flight_ = false;
      }
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
    if (op.socket != invalid_socket &&
        ::WSAGetOverlappedResult(op.socket, &op.ov, &bytes, FALSE, &flags) == FALSE) {
      const int e = ::WSAGetLastError();
      if (e != 0) return static_cast<unsigned long>(e);
    }
    return ERROR_GEN_FAILURE;  // (an NTSTATUS Winsock did not translate)
  }

  /// Asks again for the ops whose CancelIoEx found nothing (see cancel()).
  void cancel_again() noexcept {
    for (iocp_op* op = ops_; op != nullptr && cancels_again_ > 0; op = op->next)
      if (op->cancel_again) cancel(*op);
  }
  void forget_cancel_again(iocp_op& op) noexcept {
    if (!op.cancel_again) return;
    op.cancel_again = false;
    --cancels_again_;
  }

  /// The op is done: no longer pending, out of the list.
  void finish(iocp_op& op) noexcept {
    forget_cancel_again(op);
    (op.prev != nullptr ? op.prev->next : ops_) = op.next;
    if (op.next != nullptr) op.next->prev = op.prev;
    op.prev = op.next = nullptr;
    op.in_flight = false;
    --pending_;
    if (op.user != nullptr) --socket_ops_pending_;
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
  iocp_op* ops_ = nullptr;  // pending overlapped ops
  std::size_t pending_ = 0;
  std::size_t socket_ops_pending_ = 0;  // of pending_: socket operations' (op.user set)
  std::size_t completions_ = 0;
  std::size_t cancels_again_ = 0;  // ops with cancel_again set
  std::atomic<bool> wake_pending_{false};
};

}  // namespace netaio::inline v0::detail
