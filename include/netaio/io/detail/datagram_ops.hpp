// The awaitable operations of a datagram socket.
#pragma once

#include <netaio/io/detail/socket_handle.hpp>
#include <netaio/io/detail/socket_types.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace netaio::inline v0 {

/// The largest UDP payload the protocol allows (65507 for IPv4, 65527 for IPv6).
constexpr std::size_t max_udp_payload(ip_family f) noexcept {
  return f == ip_family::v4 ? 65507 : 65527;
}

/// What receive_from got: the datagram's size (in the caller's buffer) and sender.
struct received_datagram {
  std::size_t size = 0;
  endpoint from;
};

namespace detail {

class send_to_awaiter : public reactor_awaiter<send_to_awaiter, direction::write> {
 public:
  send_to_awaiter(fd_state* s, ip_family family, std::span<const std::uint8_t> buf,
                  const endpoint& to) noexcept
      : reactor_awaiter(s), family_(family), buf_(buf), to_(to), native_(to_native(to)) {}

#if !NETAIO_HAS_IOCP  // readiness only (POSIX calls)
  static bool perform(reactor_op* op) noexcept {
    auto* self = static_cast<send_to_awaiter*>(op);
    if (self->buf_.size() > max_udp_payload(self->family_)) {
      self->error_ = EMSGSIZE;
      return true;
    }
    ssize_t r = retry_eintr([&] {
      return ::sendto(self->state_->fd, self->buf_.data(), self->buf_.size(), MSG_NOSIGNAL,
                      self->native_.get(), self->native_.length);
    });
    if (r >= 0) return true;
    if (would_block(errno)) return false;
    self->error_ = errno;
    return true;
  }
#endif

  /// Bytes sent (the whole datagram).
  // IOCP: WSASendTo.
  static constexpr bool has_completion_path = iocp_completion;
  template <class B>
  static bool start(reactor_op* op) noexcept {
    auto* self = static_cast<send_to_awaiter*>(op);
    if (self->buf_.size() > max_udp_payload(self->family_)) {
      self->error_ = EMSGSIZE;
      return true;
    }
    auto& b = dependent<B>(self->io_);
    set_io_buffer(b.iov[0], self->buf_.data(), self->buf_.size());
    if (!backend_of<B>(op).start_sendto(*op, b.iov, self->native_.get(), self->native_.length))
      return false;
    return finish<B>(op);
  }
  template <class B>
  static bool finish(reactor_op* op) noexcept {
    static_cast<send_to_awaiter*>(op)->note_error(op->res_);
    return true;
  }

  std::size_t await_resume() const {
    end_or_throw("send_to");
    if (error_ == EMSGSIZE) {
      throw io_error(io_errc::message_too_large,
                     "netaio: send_to " + to_.to_string() + ": a datagram of " +
                         std::to_string(buf_.size()) + " bytes is too large (UDP over " +
                         (family_ == ip_family::v4 ? "IPv4" : "IPv6") + " allows at most " +
                         std::to_string(max_udp_payload(family_)) + " bytes)",
                     std::error_code(EMSGSIZE, std::system_category()));
    }
    if (error_ != 0) throw_errno(error_, describe("send_to", &to_, nullptr));
    return buf_.size();
  }

 private:
  ip_family family_;
  std::span<const std::uint8_t> buf_;
  endpoint to_;
  native_address native_;
  [[no_unique_address]] send_storage<1, iocp_completion> io_;
};

/// IOCP: what WSARecvFrom is given besides the buffer, kept in the awaiter
/// (the kernel writes the flags when it completes). Empty elsewhere.
template <bool Used>
struct recv_from_storage {
  io_buffer buffer;
  unsigned long flags;  // (a DWORD)
};
template <>
struct recv_from_storage<false> {};

class receive_from_awaiter : public reactor_awaiter<receive_from_awaiter, direction::read> {
 public:
  receive_from_awaiter(fd_state* s, std::span<std::uint8_t> buf) noexcept
      : reactor_awaiter(s), buf_(buf) {}

#if !NETAIO_HAS_IOCP  // readiness only (POSIX calls)
  static bool perform(reactor_op* op) noexcept {
    auto* self = static_cast<receive_from_awaiter*>(op);
    iovec iov{self->buf_.data(), self->buf_.size()};
    msghdr msg{};
    self->from_.length = sizeof self->from_.storage;
    msg.msg_name = self->from_.get();
    msg.msg_namelen = self->from_.length;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    // MSG_TRUNC: the real length even when the buffer is shorter (Linux).
    ssize_t r = retry_eintr([&] { return ::recvmsg(self->state_->fd, &msg, MSG_TRUNC); });
    if (r >= 0) {
      self->size_ = static_cast<std::size_t>(r);
      self->truncated_ = (msg.msg_flags & MSG_TRUNC) != 0 || self->size_ > self->buf_.size();
      return true;
    }
    if (would_block(errno)) return false;
    self->error_ = errno;
    return true;
  }
#endif

  // IOCP: WSARecvFrom. A datagram longer than the buffer fails it with
  // WSAEMSGSIZE, the part that fit received (its full size is not told).
  static constexpr bool has_completion_path = iocp_completion;
  template <class B>
  static bool start(reactor_op* op) noexcept {
    auto* self = static_cast<receive_from_awaiter*>(op);
    auto& w = dependent<B>(self->win_);
    set_io_buffer(w.buffer, self->buf_.data(), self->buf_.size());
    self->from_.length = sizeof self->from_.storage;
    backend_of<B>(op).submit_recvfrom(*op, &w.buffer, self->from_.get(), &self->from_.length,
                                      &w.flags);
    return false;
  }
  template <class B>
  static bool finish(reactor_op* op) noexcept {
    auto* self = static_cast<receive_from_awaiter*>(op);
    if (op->res_ == -B::truncated_datagram) {
      self->size_ = B::transferred(*op);
      self->truncated_ = true;
      self->size_unknown_ = true;
    } else if (op->res_ >= 0) {
      self->size_ = static_cast<std::size_t>(op->res_);
    }
    self->note_error(self->truncated_ ? 0 : op->res_);
    return true;
  }

  received_datagram await_resume() const {
    end_or_throw("receive_from");
    if (error_ != 0) throw_errno(error_, "receive_from");
    endpoint from = from_native(from_.get());
    if (truncated_) {
      throw io_error(io_errc::message_truncated,
                     "netaio: receive_from " + from.to_string() + ": a datagram " +
                         (size_unknown_ ? std::string("longer than the buffer")
                                        : "of " + std::to_string(size_) + " bytes") +
                         " did not fit the buffer of " + std::to_string(buf_.size()) +
                         " bytes (the rest was discarded)",
                     {}, buf_.size());
    }
    return {size_, from};
  }

 private:
  std::span<std::uint8_t> buf_;
  native_address from_;
  std::size_t size_ = 0;
  bool truncated_ = false;
  bool size_unknown_ = false;  // (Windows says only that it was longer)
  [[no_unique_address]] recv_from_storage<iocp_completion> win_{};
};

}  // namespace detail
}  // namespace netaio::inline v0
