// Socket plumbing shared by the socket types: sockaddr conversion,
// errno (WSAE* on Windows) -> io_error, option helpers. On POSIX every
// descriptor is O_CLOEXEC and non-blocking from birth; on Windows every
// socket is overlapped (for IOCP) and not inherited.
#pragma once

#include <netaio/io/address.hpp>
#include <netaio/io/detail/socket_types.hpp>
#include <netaio/io/error.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

namespace netaio::inline v0::detail {

struct native_address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

inline native_address to_native(const endpoint& ep) noexcept {
  native_address n;
  const ip_address& a = ep.address();
  if (a.is_v4()) {
    auto* s = reinterpret_cast<sockaddr_in*>(&n.storage);
    s->sin_family = AF_INET;
    s->sin_port = htons(ep.port());
    std::memcpy(&s->sin_addr, a.data(), 4);
    n.length = sizeof(sockaddr_in);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&n.storage);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(ep.port());
    std::memcpy(&s->sin6_addr, a.data(), 16);
    s->sin6_scope_id = a.scope_id();
    n.length = sizeof(sockaddr_in6);
  }
  return n;
}

inline endpoint from_native(const sockaddr* sa) noexcept {
  if (sa->sa_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(sa);
    std::array<std::uint8_t, 4> b{};
    std::memcpy(b.data(), &s->sin_addr, 4);
    return {ip_address::v4(b), ntohs(s->sin_port)};
  }
  if (sa->sa_family == AF_INET6) {
    const auto* s = reinterpret_cast<const sockaddr_in6*>(sa);
    std::array<std::uint8_t, 16> b{};
    std::memcpy(b.data(), &s->sin6_addr, 16);
    return {ip_address::v6(b, s->sin6_scope_id), ntohs(s->sin6_port)};
  }
  return {};
}

inline int native_family(ip_family f) noexcept {
  return f == ip_family::v4 ? AF_INET : AF_INET6;
}

inline io_errc errc_from_errno(int e) noexcept {
  switch (e) {
    case ECONNREFUSED:
      return io_errc::refused;
    case ECONNRESET:
    case ECONNABORTED:
      return io_errc::reset;
    case EPIPE:
      return io_errc::broken_pipe;
    case ETIMEDOUT:
      return io_errc::timed_out;
    case EADDRINUSE:
      return io_errc::address_in_use;
    case EADDRNOTAVAIL:
      return io_errc::address_not_available;
    case ENETUNREACH:
    case ENETDOWN:
      return io_errc::network_unreachable;
    case EHOSTUNREACH:
#if defined(EHOSTDOWN)  // (not in MinGW's errno.h)
    case EHOSTDOWN:
#endif
      return io_errc::host_unreachable;
    case EMSGSIZE:
      return io_errc::message_too_large;
    case EMFILE:
    case ENFILE:
      return io_errc::too_many_open_files;
    case EACCES:
    case EPERM:
      return io_errc::permission_denied;
    case EBADF:
      return io_errc::closed;
    case EOPNOTSUPP:
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT:
    case ENOPROTOOPT:
      return io_errc::not_supported;
#if defined(_WIN32)
    // Winsock reports its own codes (WSAGetLastError, last_socket_error()).
    case WSAECONNREFUSED:
      return io_errc::refused;
    case WSAECONNRESET:
    case WSAECONNABORTED:
    case WSAENETRESET:
      return io_errc::reset;
    case WSAESHUTDOWN:
      return io_errc::broken_pipe;
    case WSAETIMEDOUT:
      return io_errc::timed_out;
    case WSAEADDRINUSE:
      return io_errc::address_in_use;
    case WSAEADDRNOTAVAIL:
      return io_errc::address_not_available;
    case WSAENETUNREACH:
    case WSAENETDOWN:
      return io_errc::network_unreachable;
    case WSAEHOSTUNREACH:
    case WSAEHOSTDOWN:
      return io_errc::host_unreachable;
    case WSAEMSGSIZE:
      return io_errc::message_too_large;
    case WSAEMFILE:
      return io_errc::too_many_open_files;
    case WSAEACCES:
      return io_errc::permission_denied;
    case WSAENOTSOCK:
    case WSAEBADF:
    case WSA_INVALID_HANDLE:
      return io_errc::closed;
    case WSAEOPNOTSUPP:
    case WSAEAFNOSUPPORT:
    case WSAEPROTONOSUPPORT:
    case WSAENOPROTOOPT:
      return io_errc::not_supported;
#endif
    default:
      return io_errc::system;
  }
}

/// "read from 127.0.0.1:80 (local 127.0.0.1:5000)"-style context for messages.
inline std::string describe(std::string_view op, const endpoint* peer, const endpoint* local) {
  std::string s(op);
  if (peer != nullptr)
    s += (op == "bind" || op == "listen" ? " on " : " with ") + peer->to_string();
  if (local != nullptr) s += " (local " + local->to_string() + ")";
  return s;
}

/// Throws the io_error for errno `e` (WSAE* on Windows) during `what`
/// (see describe()).
[[noreturn]] inline void throw_errno(int e, const std::string& what, std::size_t bytes = 0) {
  io_errc c = errc_from_errno(e);
  throw io_error(
      c, "netaio: " + what + ": " + make_error_code(c).message() + " (" + system_message(e) + ")",
      std::error_code(e, std::system_category()), bytes);
}

#if defined(_WIN32)
/// A new overlapped socket (for IOCP), not inherited, counted in
/// open_socket_count(); invalid_socket on failure (WSAGetLastError says why).
inline native_socket open_overlapped_socket(int family, int type) noexcept {
  const native_socket fd =
      ::WSASocketW(family, type, 0, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (fd != invalid_socket) count_opened_socket();
  return fd;
}
#endif

/// A new socket: non-blocking and close-on-exec on POSIX; overlapped (for
/// IOCP) and not inherited on Windows. Throws io_error.
inline native_socket open_socket(ip_family family, int type, const char* what) {
#if defined(_WIN32)
  if (const int e = winsock_startup(); e != 0) throw_errno(e, "WSAStartup");
  native_socket fd = open_overlapped_socket(native_family(family), type);
  if (fd == invalid_socket) throw_errno(last_socket_error(), what);
  if (type == SOCK_DGRAM) {
    // Off: an ICMP port unreachable for an earlier datagram would otherwise
    // fail the next receive with WSAECONNRESET (POSIX reports it only on a
    // connected socket; ours are not).
    BOOL report = FALSE;
    DWORD unused = 0;
    ::WSAIoctl(fd, SIO_UDP_CONNRESET, &report, sizeof report, nullptr, 0, &unused, nullptr,
               nullptr);
  }
#else
  native_socket fd = ::socket(native_family(family), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno(errno, what);
#endif
  return fd;
}

// (Winsock takes options as char*, POSIX as void*: char* suits both.)
inline void set_int_option(native_socket fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, reinterpret_cast<const char*>(&value), sizeof value) != 0)
    throw_errno(last_socket_error(), std::string("setsockopt(") + what + ")");
}
inline int get_int_option(native_socket fd, int level, int name, const char* what) {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, reinterpret_cast<char*>(&value), &len) != 0)
    throw_errno(last_socket_error(), std::string("getsockopt(") + what + ")");
  return value;
}

inline endpoint local_endpoint_of(native_socket fd) {
  native_address n;
  n.length = sizeof n.storage;
  if (::getsockname(fd, n.get(), &n.length) != 0) throw_errno(last_socket_error(), "getsockname");
  return from_native(n.get());
}
inline endpoint peer_endpoint_of(native_socket fd) {
  native_address n;
  n.length = sizeof n.storage;
  if (::getpeername(fd, n.get(), &n.length) != 0) throw_errno(last_socket_error(), "getpeername");
  return from_native(n.get());
}

// Multicast requests. Linux takes ip_mreqn (address and index); Windows
// takes ip_mreq, where an interface index is written in the address field
// as 0.0.0.index (network order), and a DWORD for the outgoing interface.
// Each returns what setsockopt did (0, or -1 with last_socket_error()).

/// IPv4 join or leave: `group` and `iface` are 4 bytes (`iface` may be null).
inline int ipv4_membership(native_socket fd, const std::uint8_t* group, const std::uint8_t* iface,
                           unsigned if_index, bool join) noexcept {
#if defined(_WIN32)
  ip_mreq m{};
  std::memcpy(&m.imr_multiaddr, group, 4);
  if (iface != nullptr) {
    std::memcpy(&m.imr_interface, iface, 4);
  } else {
    m.imr_interface.s_addr = htonl(if_index);
  }
#else
  ip_mreqn m{};
  std::memcpy(&m.imr_multiaddr, group, 4);
  if (iface != nullptr) std::memcpy(&m.imr_address, iface, 4);
  m.imr_ifindex = static_cast<int>(if_index);
#endif
  return ::setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
                      reinterpret_cast<const char*>(&m), sizeof m);
}
/// IPv6 join or leave: `group` is 16 bytes.
inline int ipv6_membership(native_socket fd, const std::uint8_t* group, unsigned if_index,
                           bool join) noexcept {
  ipv6_mreq m{};
  std::memcpy(&m.ipv6mr_multiaddr, group, 16);
  m.ipv6mr_interface = if_index;
  return ::setsockopt(fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP,
                      reinterpret_cast<const char*>(&m), sizeof m);
}
/// IPv4: the interface multicast datagrams leave from, by index.
inline int ipv4_multicast_if(native_socket fd, unsigned if_index) noexcept {
#if defined(_WIN32)
  const DWORD v = htonl(if_index);
#else
  ip_mreqn v{};
  v.imr_ifindex = static_cast<int>(if_index);
#endif
  return ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, reinterpret_cast<const char*>(&v), sizeof v);
}
/// IPv4: the interface multicast datagrams leave from, by its address (4 bytes).
inline int ipv4_multicast_if(native_socket fd, const std::uint8_t* iface) noexcept {
  in_addr a{};
  std::memcpy(&a, iface, 4);
  return ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, reinterpret_cast<const char*>(&a), sizeof a);
}
/// IPv6: the interface multicast datagrams leave from, by index.
inline int ipv6_multicast_if(native_socket fd, unsigned if_index) noexcept {
#if defined(_WIN32)
  const DWORD v = if_index;
#else
  const int v = static_cast<int>(if_index);
#endif
  return ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, reinterpret_cast<const char*>(&v),
                      sizeof v);
}

}  // namespace netaio::inline v0::detail
