// The record of one overlapped operation of the IOCP (Windows) backend: an
// OVERLAPPED plus the function the backend calls when the operation's
// completion packet comes out of the port. Sockets are registered as
// fd_state (reactor_op.hpp), like every backend's; a socket operation
// (reactor_op) holds one of these.
//
// The life of an operation (submit, complete, cancel):
//   1. iocp_backend::begin(op, socket): zeroes the OVERLAPPED and counts
//      the op as pending (in the backend's list of pending ops). Nothing is
//      allocated: the op lives in the awaiter (the coroutine frame).
//   2. The caller issues the overlapped call (WSARecv, WSASend, AcceptEx,
//      ConnectEx, WSARecvFrom, WSASendTo) with op.overlapped() and passes
//      what it returned to iocp_backend::submitted(op, error, bytes):
//        - done: finished at once (success with the socket's
//          FILE_SKIP_COMPLETION_PORT_ON_SUCCESS mode on, or an error other
//          than WSA_IO_PENDING). No packet will come; op.error and
//          op.bytes hold the result; the complete function is not called.
//        - pending: exactly one completion packet will come, whatever
//          happens next (success, failure, cancellation, closing the
//          socket); wait() then sets op.error and op.bytes and calls the
//          op's complete function on the loop thread.
//   3. iocp_backend::cancel(op) asks for an early end (CancelIoEx on this
//      op's OVERLAPPED). It does not end the op: the packet still comes,
//      with ERROR_OPERATION_ABORTED, or with the op's real result if it
//      finished first.
// The rule that follows: from begin() until the complete function runs (or
// submitted() said done), the kernel owns the OVERLAPPED and the buffers
// the call was given. Both must stay alive and in place, even after a
// cancel, and even when the task that started the op has been cancelled:
// its awaiter resumes the task only from the complete function, never from
// the cancellation itself (unlike a readiness wait, which can just leave).
// An awaiter destroyed with its op pending (its frame torn down) calls
// iocp_backend::abandon(op) from its destructor: that cancels the op and
// waits for its packet before the memory goes.
#pragma once

#include <netaio/detail/config.hpp>
#include <netaio/io/detail/socket_types.hpp>

#include <cstddef>
#include <cstdint>

// Windows only; empty elsewhere (reactor_op.hpp includes it everywhere, so
// that the single header holds it outside any condition).
#if defined(_WIN32)

namespace netaio::inline v0::detail {

class iocp_backend;

/// One overlapped operation. Standard layout with the OVERLAPPED first, so
/// the OVERLAPPED* a completion packet carries leads back to the op.
struct iocp_op {
  /// Called once per pending op, on the loop thread, from the backend's
  /// wait(), after `error` and `bytes` are set.
  using complete_fn = void (*)(iocp_op*) noexcept;

  iocp_op() noexcept = default;
  explicit iocp_op(complete_fn f, void* u = nullptr) noexcept : on_complete(f), user(u) {}
  /// A copy is a fresh op with the same complete function (awaiters are
  /// moved before they are awaited, never while pending).
  iocp_op(const iocp_op& other) noexcept : on_complete(other.on_complete) {
    NETAIO_ASSERT(!other.in_flight, "an overlapped operation was copied while pending");
  }
  iocp_op& operator=(const iocp_op&) = delete;
  ~iocp_op() {
    NETAIO_ASSERT(!in_flight, "an overlapped operation was destroyed before its completion");
  }

  OVERLAPPED ov{};  // first: packets carry &ov
  complete_fn on_complete = nullptr;
  /// What the complete function acts on (a socket operation's reactor_op).
  void* user = nullptr;
  /// The socket the call was made on (set by begin(): CancelIoEx needs it).
  native_socket socket = invalid_socket;
  iocp_op* prev = nullptr;  // in the backend's list of pending ops
  iocp_op* next = nullptr;
  /// The result: 0 or a Win32/Winsock error code (WSAE*, or
  /// ERROR_OPERATION_ABORTED (995) after a cancel).
  unsigned long error = 0;
  unsigned long bytes = 0;
  /// True from begin() until the op is done (inline or by its packet).
  bool in_flight = false;
  /// Set when io_context::close() cancelled the op: report it as
  /// operation_cancelled, whatever error the packet carries.
  bool aborted = false;
  /// A stream receive: WSAESHUTDOWN (after shutdown(receive)) is end of
  /// stream, as a POSIX recv() reports it.
  bool stream_receive = false;
  /// A CancelIoEx that found nothing while the op was still pending: asked
  /// again on every wait until the packet comes (iocp_backend::cancel).
  bool cancel_again = false;

  OVERLAPPED* overlapped() noexcept { return &ov; }
  static iocp_op* from(OVERLAPPED* o) noexcept { return reinterpret_cast<iocp_op*>(o); }
};

}  // namespace netaio::inline v0::detail

#endif  // _WIN32
