// io_error: what went wrong with a socket operation, and with whom.
#pragma once

#include <netaio/core/error.hpp>

#include <cstddef>
#include <string>
#include <system_error>
#include <utility>

namespace netaio::inline v0 {

/// What kind of I/O failure happened (the io_error category of std::error_code).
enum class io_errc {
  closed = 1,             ///< the socket or its io_context was closed during or before the call
  refused,                ///< connection refused (nothing listens there)
  reset,                  ///< connection reset by the peer
  broken_pipe,            ///< writing to a connection the peer (or we) shut down
  end_of_stream,          ///< the peer closed the stream before any byte of this read
  unexpected_eof,         ///< the peer closed the stream in the middle of a read
  timed_out,              ///< an operation's own time limit expired (e.g. connect)
  address_in_use,         ///< bind: the address is taken
  address_not_available,  ///< bind: no local interface has this address
  invalid_address,        ///< a malformed address or port
  needs_resolution,       ///< a host name that needs DNS (not resolved by this version)
  network_unreachable,
  host_unreachable,
  message_too_large,    ///< a datagram larger than the protocol allows
  message_truncated,    ///< a received datagram did not fit the buffer
  operation_pending,    ///< another operation of the same direction is already waiting
  too_many_open_files,  ///< the process or system ran out of descriptors
  permission_denied,
  not_supported,  ///< the platform or socket does not support this
  system,         ///< another OS error: see io_error::system_code()
};

namespace detail {
class io_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netaio.io"; }
  std::string message(int v) const override {
    switch (static_cast<io_errc>(v)) {
      case io_errc::closed:
        return "closed";
      case io_errc::refused:
        return "connection refused";
      case io_errc::reset:
        return "connection reset by peer";
      case io_errc::broken_pipe:
        return "broken pipe";
      case io_errc::end_of_stream:
        return "end of stream";
      case io_errc::unexpected_eof:
        return "end of stream in the middle of a read";
      case io_errc::timed_out:
        return "timed out";
      case io_errc::address_in_use:
        return "address already in use";
      case io_errc::address_not_available:
        return "address not available";
      case io_errc::invalid_address:
        return "invalid address";
      case io_errc::needs_resolution:
        return "host name needs DNS resolution";
      case io_errc::network_unreachable:
        return "network unreachable";
      case io_errc::host_unreachable:
        return "host unreachable";
      case io_errc::message_too_large:
        return "message too large";
      case io_errc::message_truncated:
        return "message truncated";
      case io_errc::operation_pending:
        return "another operation is already pending";
      case io_errc::too_many_open_files:
        return "too many open files";
      case io_errc::permission_denied:
        return "permission denied";
      case io_errc::not_supported:
        return "not supported";
      case io_errc::system:
        return "system error";
    }
    return "unknown io error";
  }
};
}  // namespace detail

/// The std::error_category of io_errc.
inline const std::error_category& io_category() noexcept {
  static const detail::io_category_impl c;
  return c;
}
inline std::error_code make_error_code(io_errc e) noexcept {
  return {static_cast<int>(e), io_category()};
}

/// An I/O failure: its kind, the OS error behind it (if any), how many bytes
/// the operation had moved before failing, and a message naming the
/// operation and the addresses involved.
class io_error : public error {
 public:
  io_error(io_errc code, std::string message, std::error_code system = {},
           std::size_t bytes_transferred = 0)
      : error(std::move(message)),
        code_(code),
        system_(system),
        bytes_transferred_(bytes_transferred) {}

  /// The kind of failure, comparable with io_errc values.
  io_errc errc() const noexcept { return code_; }
  std::error_code code() const noexcept { return make_error_code(code_); }
  /// The OS error (errno in std::system_category()), or empty.
  std::error_code system_code() const noexcept { return system_; }
  /// Bytes read or written by the failed operation before it failed (for
  /// read_exact: how much of the caller's buffer holds valid data).
  std::size_t bytes_transferred() const noexcept { return bytes_transferred_; }

 private:
  io_errc code_;
  std::error_code system_;
  std::size_t bytes_transferred_;
};

}  // namespace netaio::inline v0

template <>
struct std::is_error_code_enum<netaio::io_errc> : std::true_type {};
