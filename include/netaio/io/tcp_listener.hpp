// tcp_listener: a bound, listening TCP socket whose accept() is awaitable.
#pragma once

#include <netaio/io/address.hpp>
#include <netaio/io/detail/socket_handle.hpp>
#include <netaio/io/detail/socket_types.hpp>
#include <netaio/io/io_context.hpp>
#include <netaio/io/tcp_stream.hpp>

#include <string>

namespace netaio::inline v0 {

/// How to listen.
struct listen_options {
  int backlog = SOMAXCONN;
  /// SO_REUSEADDR: rebind at once after a restart (TIME_WAIT connections).
  bool reuse_address = true;
  /// SO_REUSEPORT: several listeners (one per thread/io_context) on one
  /// port; the kernel spreads incoming connections among them.
  bool reuse_port = false;
  /// For an IPv6 address: accept IPv6 only (no IPv4-mapped clients).
  bool v6_only = true;
  /// TCP_NODELAY for accepted streams (inherited from the listener).
  bool nodelay = true;
};

namespace detail {
/// IOCP: where AcceptEx writes both addresses (each needs 16 bytes more
/// than its size), kept in the awaiter. Empty elsewhere.
template <bool Used>
struct accept_storage_of {
  char addresses[2 * (sizeof(sockaddr_storage) + 16)];
};
template <>
struct accept_storage_of<false> {};

class accept_awaiter : public reactor_awaiter<accept_awaiter, direction::read> {
 public:
  accept_awaiter(io_context& io, socket_handle& h, const endpoint& local) noexcept
      : reactor_awaiter(h.state()), io_(&io), local_(&local) {}

#if !NETAIO_HAS_IOCP  // readiness only (POSIX calls)
  static bool perform(reactor_op* op) noexcept {
    auto* self = static_cast<accept_awaiter*>(op);
    for (;;) {
      self->peer_.length = sizeof self->peer_.storage;
      int fd = ::accept4(self->state_->fd, self->peer_.get(), &self->peer_.length,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        self->fd_ = fd;
        return true;
      }
      const int e = errno;
      if (would_block(e)) return false;
      // The connection died in the queue, or a signal: try the next one.
      if (e == EINTR || e == ECONNABORTED || e == EPROTO) continue;
      self->error_ = e;
      return true;
    }
  }
#endif

  // IOCP: AcceptEx into a fresh socket, then SO_UPDATE_ACCEPT_CONTEXT.
  static constexpr bool has_completion_path = iocp_completion;
  template <class B>
  static bool start(reactor_op* op) noexcept {
    auto* self = static_cast<accept_awaiter*>(op);
    auto& a = dependent<B>(self->win_);
    backend_of<B>(op).submit_accept(*op, native_family(self->local_->family()), self->fd_,
                                    a.addresses, sizeof a.addresses / 2);
    return false;
  }
  template <class B>
  static bool finish(reactor_op* op) noexcept {
    auto* self = static_cast<accept_awaiter*>(op);
    int e = op->res_ < 0 ? -op->res_ : 0;
    if (e == 0 && op->state_ != nullptr) {
      e = B::accepted(op->state_->fd, self->fd_);
      self->peer_.length = sizeof self->peer_.storage;
      if (e == 0 && ::getpeername(self->fd_, self->peer_.get(), &self->peer_.length) != 0)
        e = last_socket_error();
    }
    if (e == 0) return true;  // (a listener closed meanwhile: await_resume closes it)
    if (self->fd_ != invalid_socket) close_socket(self->fd_);
    self->fd_ = invalid_socket;
    // The connection died in the queue: take the next one, as accept4 does.
    if (B::connection_aborted(e) && !self->ended_early()) return start<B>(op);
    self->note_error(-e);
    return true;
  }

  tcp_stream await_resume() {
    if (fd_ != invalid_socket && ended_early()) {
      close_socket(fd_);  // completion model: an accept that won a race with its cancellation
      fd_ = invalid_socket;
    }
    end_or_throw("accept");
    if (error_ != 0) throw_errno(error_, describe("accept", nullptr, local_));
    native_socket fd = fd_;
    fd_ = invalid_socket;
    return tcp_stream(*io_, fd, from_native(peer_.get()));
  }

 private:
  io_context* io_;
  const endpoint* local_;
  native_address peer_;
  native_socket fd_ = invalid_socket;
  // IOCP: where AcceptEx writes both addresses (each needs 16 bytes more
  // than its size). Empty elsewhere.
  [[no_unique_address]] accept_storage_of<iocp_completion> win_{};
};
}  // namespace detail

/// A listening TCP socket.
class tcp_listener {
 public:
  tcp_listener() = default;
  tcp_listener(tcp_listener&&) noexcept = default;
  tcp_listener& operator=(tcp_listener&&) noexcept = default;

  /// Binds to `at` (port 0: the kernel picks; see local_endpoint()) and
  /// listens. Throws io_error: address_in_use, address_not_available, ...
  static tcp_listener bind(io_context& io, const endpoint& at, listen_options options = {}) {
    tcp_listener l;
    l.io_ = &io;
    l.handle_ = detail::socket_handle(io, detail::open_socket(at.family(), SOCK_STREAM, "socket"));
    const detail::native_socket fd = l.handle_.fd();
    // Not on Windows: there SO_REUSEADDR lets another socket bind the same
    // port while this one listens, and a port with connections in TIME_WAIT
    // can be bound again without it.
    if (options.reuse_address && !NETAIO_HAS_IOCP)
      detail::set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
    if (options.reuse_port) {
#if defined(SO_REUSEPORT)
      detail::set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
#else
      throw io_error(io_errc::not_supported, "netaio: SO_REUSEPORT is not available here");
#endif
    }
    if (at.address().is_v6())
      detail::set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, options.v6_only ? 1 : 0, "IPV6_V6ONLY");
    if (options.nodelay) detail::set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
    const detail::native_address n = detail::to_native(at);
    if (::bind(fd, n.get(), n.length) != 0)
      detail::throw_errno(detail::last_socket_error(), detail::describe("bind", &at, nullptr));
    if (::listen(fd, options.backlog) != 0)
      detail::throw_errno(detail::last_socket_error(), detail::describe("listen", &at, nullptr));
    l.local_ = detail::local_endpoint_of(fd);
    return l;
  }

  /// Waits for the next connection. Throws io_error if the listener or the
  /// process runs out of something (e.g. too_many_open_files); a
  /// connection that died before it was accepted is skipped.
  detail::accept_awaiter accept() noexcept {
    return {*io_, handle_, local_};
  }

  /// The bound address, with the actual port when bound to port 0.
  const endpoint& local_endpoint() const noexcept {
    return local_;
  }
  void close() noexcept {
    handle_.close();
  }
  bool is_open() const noexcept {
    return handle_.is_open();
  }
  detail::native_socket native_handle() const noexcept {
    return handle_.fd();
  }

 private:
  io_context* io_ = nullptr;
  detail::socket_handle handle_;
  endpoint local_;
};

}  // namespace netaio::inline v0
