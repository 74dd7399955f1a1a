// tcp_stream: a connected TCP socket. Reads and writes are awaitable,
// cancellable, and allocate nothing.
#pragma once

#include <netaio/core/deadline.hpp>
#include <netaio/core/task.hpp>
#include <netaio/io/address.hpp>
#include <netaio/io/detail/byte_range.hpp>
#include <netaio/io/detail/read_into.hpp>
#include <netaio/io/detail/socket_types.hpp>
#include <netaio/io/detail/stream_ops.hpp>
#include <netaio/io/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

namespace netaio::inline v0 {

/// How to connect.
struct connect_options {
  /// Limit for the connection attempt; max() means none. Expiry is
  /// io_error(timed_out), distinct from the caller's own cancellation.
  std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max();
  /// TCP_NODELAY (Nagle off): on by default, as message protocols want.
  bool nodelay = true;
  /// Local address to bind before connecting (e.g. a source port).
  std::optional<endpoint> local{};
};

/// Which direction(s) shutdown() closes.
enum class shutdown_how {
  receive = detail::shut_receive,
  send = detail::shut_send,
  both = detail::shut_both
};

/// A connected TCP stream. Move-only; moving or destroying it while one of
/// its operations is pending is not allowed. Operations must be awaited
/// from tasks running on the io_context that opened it. At most one read
/// and one write may be pending at a time (a second gets
/// io_error(operation_pending)).
class tcp_stream {
 public:
  tcp_stream() = default;
  tcp_stream(tcp_stream&&) noexcept = default;
  tcp_stream& operator=(tcp_stream&&) noexcept = default;

  /// Adopts a connected, non-blocking descriptor (from accept).
  tcp_stream(io_context& io, detail::native_socket fd, endpoint peer) {
    core_.handle = detail::socket_handle(io, fd);
    core_.peer = peer;
  }

  /// Connects to `to`. Throws io_error: refused, timed_out, unreachable, ...
  static task<tcp_stream> connect(io_context& io, endpoint to, connect_options options = {}) {
    tcp_stream s(io, detail::open_socket(to.family(), SOCK_STREAM, "socket"), to);
    if (options.nodelay) s.set_nodelay(true);
    if (options.local) {
      detail::native_address l = detail::to_native(*options.local);
      if (::bind(s.native_handle(), l.get(), l.length) != 0)
        detail::throw_errno(detail::last_socket_error(),
                            detail::describe("bind", &*options.local, nullptr));
    }
    const detail::native_address target = detail::to_native(to);
    if (options.timeout == std::chrono::nanoseconds::max()) {
      co_await detail::connect_awaiter(s.core_, target);
    } else {
      try {
        co_await with_timeout(options.timeout, connect_attempt(s.core_, target));
      } catch (const timed_out&) {
        throw io_error(io_errc::timed_out, "netaio: connect to " + to.to_string() +
                                               ": no connection within the time limit");
      }
    }
    co_return s;
  }

  /// Reads at least one byte into `buf` (waiting if none is there); returns
  /// how many, or 0 once the peer has closed its side.
  template <detail::mutable_byte_range R>
  detail::read_some_awaiter read_some(R&& buf) noexcept {
    return {core_, detail::writable_bytes(buf)};
  }
  /// Fills all of `buf`. Throws io_error end_of_stream (peer closed before
  /// the first byte) or unexpected_eof (after bytes_transferred() bytes).
  /// If cancelled, the bytes it had read stay readable by the next read.
  template <detail::mutable_byte_range R>
  detail::read_exact_awaiter read_exact(R&& buf) noexcept {
    return {core_, detail::writable_bytes(buf)};
  }
  /// Reads into `sink` until it says it has enough (see detail::read_sink),
  /// resuming the task once however many reads that takes. For framing
  /// layers (node/framed_stream.hpp); bytes committed to the sink stay
  /// there if the read is cancelled.
  template <detail::read_sink S>
  detail::read_into_awaiter<S> read_into(S& sink) noexcept {
    return {core_, sink};
  }
  /// Writes at least one byte of `buf`, waiting for room; returns how many.
  template <detail::const_byte_range R>
  detail::write_some_awaiter write_some(R&& buf) noexcept {
    return {core_, detail::readable_bytes(buf)};
  }
  /// Writes all of `buf`, across partial writes. A cancelled write_all has
  /// sent an unknown prefix: the stream's framing is then lost.
  template <detail::const_byte_range R>
  detail::write_all_awaiter write_all(R&& buf) noexcept {
    return {core_, detail::readable_bytes(buf)};
  }
  /// Writes all of several buffers in order (one sendmsg where possible).
  /// `bufs` must stay alive until the write completes.
  detail::write_all_awaiter write_all(
      std::span<const std::span<const std::uint8_t>> bufs) noexcept {
    return {core_, bufs};
  }

  /// The most buffers one gathered send takes (try_write looks at no more).
  static constexpr std::size_t max_gathered = detail::max_gather;
  /// Sends what fits in the kernel's buffer now, without waiting, and
  /// returns how many bytes of `buf` that was: 0 when none fit, when a
  /// write is pending on the stream, or on Windows (IOCP sends only
  /// overlapped). For a writer that queues the rest. Throws io_error.
  template <detail::const_byte_range R>
  std::size_t try_write(R&& buf) {
    const std::span<const std::uint8_t> one = detail::readable_bytes(buf);
    return detail::try_send_now(core_, {&one, 1});
  }
  /// try_write of several buffers in order (one sendmsg; at most the first
  /// max_gathered buffers are looked at).
  std::size_t try_write(std::span<const std::span<const std::uint8_t>> bufs) {
    return detail::try_send_now(core_, bufs);
  }
  /// Closes one or both directions (send: the peer reads end of stream).
  void shutdown(shutdown_how how = shutdown_how::send) {
    const detail::native_socket fd = core_.handle.checked_fd("shutdown");
    if (::shutdown(fd, static_cast<int>(how)) != 0) {
      const int e = detail::last_socket_error();
      if (!detail::not_connected(e)) detail::throw_errno(e, core_.context("shutdown"));
    }
    // The next read or write must ask the kernel (end of stream, EPIPE)
    // rather than wait for an edge that a local shutdown may not bring.
    core_.handle.state()->readable = true;
    core_.handle.state()->writable = true;
  }
  /// Closes the socket; pending operations end with io_error(closed).
  void close() noexcept { core_.handle.close(); }
  bool is_open() const noexcept { return core_.handle.is_open(); }

  endpoint local_endpoint() const {
    return detail::local_endpoint_of(core_.handle.checked_fd("local_endpoint"));
  }
  /// The peer, as connected to or accepted from (known even after a reset).
  const endpoint& remote_endpoint() const noexcept { return core_.peer; }

  void set_nodelay(bool on) {
    detail::set_int_option(core_.handle.checked_fd("set_nodelay"), IPPROTO_TCP, TCP_NODELAY,
                           on ? 1 : 0, "TCP_NODELAY");
  }
  bool nodelay() const {
    return detail::get_int_option(core_.handle.checked_fd("nodelay"), IPPROTO_TCP, TCP_NODELAY,
                                  "TCP_NODELAY") != 0;
  }
  /// Bytes a cancelled read_exact left for the next read.
  std::size_t buffered() const noexcept { return core_.unread.size() - core_.unread_pos; }
  detail::native_socket native_handle() const noexcept { return core_.handle.fd(); }

 private:
  static task<void> connect_attempt(detail::stream_core& core, detail::native_address to) {
    co_await detail::connect_awaiter(core, to);
  }

  detail::stream_core core_;
};

}  // namespace netaio::inline v0
