// udp_socket: datagrams to and from any endpoint, plus multicast groups.
#pragma once

#include <netaio/io/address.hpp>
#include <netaio/io/detail/byte_range.hpp>
#include <netaio/io/detail/datagram_ops.hpp>
#include <netaio/io/detail/socket_handle.hpp>
#include <netaio/io/detail/socket_types.hpp>
#include <netaio/io/io_context.hpp>

#include <cstring>
#include <string>
#include <string_view>

namespace netaio::inline v0 {

/// How to bind a UDP socket.
struct udp_options {
  /// SO_REUSEADDR: needed by several receivers of one multicast port.
  bool reuse_address = false;
  bool reuse_port = false;
  /// For an IPv6 address: IPv6 only (no IPv4-mapped traffic).
  bool v6_only = true;
};

/// The index of a network interface by name ("lo", "eth0"). Throws io_error.
inline unsigned interface_index(std::string_view name) {
  std::string n(name);
  unsigned i = detail::if_name_to_index(n.c_str());
  if (i == 0) {
    throw io_error(io_errc::invalid_address, "netaio: no network interface named '" + n + "'");
  }
  return i;
}

/// A UDP socket. Move-only; not moved or destroyed while an operation is
/// pending. One receive and one send may be pending at a time.
class udp_socket {
 public:
  udp_socket() = default;
  udp_socket(udp_socket&&) noexcept = default;
  udp_socket& operator=(udp_socket&&) noexcept = default;

  /// A socket bound to `at` (port 0: the kernel picks). Throws io_error.
  static udp_socket bind(io_context& io, const endpoint& at, udp_options options = {}) {
    udp_socket s = open(io, at.family());
    const detail::native_socket fd = s.handle_.fd();
    if (options.reuse_address)
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
    const detail::native_address n = detail::to_native(at);
    if (::bind(fd, n.get(), n.length) != 0)
      detail::throw_errno(detail::last_socket_error(), detail::describe("bind", &at, nullptr));
    return s;
  }
  /// An unbound socket of `family` (bound to an ephemeral port by its first send).
  static udp_socket open(io_context& io, ip_family family) {
    udp_socket s;
    s.family_ = family;
    s.handle_ = detail::socket_handle(io, detail::open_socket(family, SOCK_DGRAM, "socket"));
    return s;
  }

  /// Sends `buf` as one datagram to `to`. Throws io_error(message_too_large)
  /// beyond max_udp_payload(family()).
  template <detail::const_byte_range R>
  detail::send_to_awaiter send_to(R&& buf, const endpoint& to) noexcept {
    return {handle_.state(), family_, detail::readable_bytes(buf), to};
  }
  /// Receives one datagram into `buf`. A datagram longer than `buf` is
  /// io_error(message_truncated) (the buffer holds its start; the rest is lost).
  template <detail::mutable_byte_range R>
  detail::receive_from_awaiter receive_from(R&& buf) noexcept {
    return {handle_.state(), detail::writable_bytes(buf)};
  }

  /// Joins multicast `group` on interface `if_index` (0: the system's choice).
  void join_group(const ip_address& group, unsigned if_index = 0) {
    membership(group, if_index, nullptr, true);
  }
  /// Joins an IPv4 group on the interface that has local address `iface`.
  void join_group(const ip_address& group, const ip_address& iface) {
    membership(group, 0, &iface, true);
  }
  void leave_group(const ip_address& group, unsigned if_index = 0) {
    membership(group, if_index, nullptr, false);
  }
  void leave_group(const ip_address& group, const ip_address& iface) {
    membership(group, 0, &iface, false);
  }

  /// Whether this host's own members of a group receive what we send to it.
  void set_multicast_loopback(bool on) {
    if (family_ == ip_family::v4) {
      option(IPPROTO_IP, IP_MULTICAST_LOOP, on ? 1 : 0, "IP_MULTICAST_LOOP");
    } else {
      option(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on ? 1 : 0, "IPV6_MULTICAST_LOOP");
    }
  }
  /// TTL (IPv4) or hop limit (IPv6) of multicast datagrams, 0..255.
  void set_multicast_ttl(int hops) {
    if (hops < 0 || hops > 255) {
      throw io_error(io_errc::invalid_address,
                     "netaio: multicast TTL must be 0..255, not " + std::to_string(hops));
    }
    if (family_ == ip_family::v4) {
      option(IPPROTO_IP, IP_MULTICAST_TTL, hops, "IP_MULTICAST_TTL");
    } else {
      option(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hops, "IPV6_MULTICAST_HOPS");
    }
  }
  /// The interface multicast datagrams leave from, by index.
  void set_multicast_interface(unsigned if_index) {
    const detail::native_socket fd = handle_.checked_fd("set_multicast_interface");
    const int r = family_ == ip_family::v4 ? detail::ipv4_multicast_if(fd, if_index)
                                           : detail::ipv6_multicast_if(fd, if_index);
    if (r != 0) detail::throw_errno(detail::last_socket_error(), "setsockopt(MULTICAST_IF)");
  }
  /// IPv4: the interface multicast datagrams leave from, by local address.
  void set_multicast_interface(const ip_address& iface) {
    require_v4(iface, "set_multicast_interface");
    if (detail::ipv4_multicast_if(handle_.checked_fd("set_multicast_interface"), iface.data()) != 0)
      detail::throw_errno(detail::last_socket_error(), "setsockopt(IP_MULTICAST_IF)");
  }
  void set_broadcast(bool on) {
    option(SOL_SOCKET, SO_BROADCAST, on ? 1 : 0, "SO_BROADCAST");
  }

  endpoint local_endpoint() const {
    return detail::local_endpoint_of(handle_.checked_fd("local_endpoint"));
  }
  ip_family family() const noexcept {
    return family_;
  }
  /// Closes the socket; pending operations end with io_error(closed).
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
  void option(int level, int name, int value, const char* what) {
    detail::set_int_option(handle_.checked_fd(what), level, name, value, what);
  }
  void require_v4(const ip_address& a, const char* what) const {
    if (family_ != ip_family::v4 || !a.is_v4()) {
      throw io_error(io_errc::invalid_address, std::string("netaio: ") + what +
                                                   ": an interface address is IPv4 only; use an "
                                                   "interface index for IPv6");
    }
  }
  void membership(const ip_address& group, unsigned if_index, const ip_address* iface, bool join) {
    const char* what = join ? "join_group" : "leave_group";
    const detail::native_socket fd = handle_.checked_fd(what);
    if (!group.is_multicast() || group.family() != family_) {
      throw io_error(io_errc::invalid_address,
                     std::string("netaio: ") + what + ": " + group.to_string() +
                         " is not a multicast address of this socket's family");
    }
    if (iface != nullptr) require_v4(*iface, what);
    const int r =
        family_ == ip_family::v4
            ? detail::ipv4_membership(fd, group.data(), iface != nullptr ? iface->data() : nullptr,
                                      if_index, join)
            : detail::ipv6_membership(fd, group.data(), if_index, join);
    if (r != 0) {
      detail::throw_errno(
          detail::last_socket_error(),
          std::string(what) + " " + group.to_string() +
              (if_index != 0 ? " on interface " + std::to_string(if_index) : std::string()));
    }
  }

  detail::socket_handle handle_;
  ip_family family_ = ip_family::v4;
};

}  // namespace netaio::inline v0
