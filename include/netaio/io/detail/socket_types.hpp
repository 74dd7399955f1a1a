// The platform's socket headers, in one place (as Asio's socket_types.hpp):
// the public io headers include this instead of POSIX or Winsock headers, so
// a platform difference lives here and in the detail/ code behind it, not in
// the headers users include. Besides the headers, it gives the few names
// that differ between the two: the socket handle type, the last socket
// error, closing a socket, an interface's index, and Winsock's start-up.
#pragma once

#if defined(_WIN32)
// Windows sockets (the IOCP backend). Link with -lws2_32 -lmswsock.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
// winsock2.h must come before windows.h and the others.
// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>  // inet_pton, inet_ntop, sockaddr_in6, socklen_t (an int)
#include <mswsock.h>   // AcceptEx, ConnectEx, SetFileCompletionNotificationModes flags
#include <windows.h>
// clang-format on
#else
#include <arpa/inet.h>    // inet_pton, inet_ntop
#include <net/if.h>       // if_nametoindex
#include <netinet/in.h>   // sockaddr_in(6), IPPROTO_*, multicast requests
#include <netinet/tcp.h>  // TCP_NODELAY
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>  // iovec
#include <unistd.h>   // close
#endif

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <system_error>

namespace netaio::inline v0::detail {

#if defined(_WIN32)
/// A socket: a SOCKET (a kernel handle, UINT_PTR) on Windows.
using native_socket = SOCKET;
inline constexpr native_socket invalid_socket = INVALID_SOCKET;

/// Starts Winsock 2.2 once per process, on first use (a function-local
/// static: thread-safe, and later calls cost one load). Every path that
/// needs Winsock calls it first: the IOCP backend's constructor (so every
/// io_context) and open_socket(). Returns 0 or the WSAStartup error.
/// WSACleanup is never called: process exit releases Winsock, and a static
/// io_context destroyed after a cleanup would close its sockets on a
/// Winsock that is gone.
inline int winsock_startup() noexcept {
  static const int result = [] {
    WSADATA data;
    return ::WSAStartup(MAKEWORD(2, 2), &data);
  }();
  return result;
}

/// The error of the last failed socket call on this thread (a WSAE* code).
inline int last_socket_error() noexcept {
  return ::WSAGetLastError();
}

/// Sockets this process opened through the library and has not closed yet
/// (Windows has no descriptor count to look at: tests use this one).
inline std::atomic<long>& open_socket_counter() noexcept {
  static std::atomic<long> n{0};
  return n;
}
inline long open_socket_count() noexcept {
  return open_socket_counter().load(std::memory_order_relaxed);
}
/// Counts a socket the library opened (open_socket, an accepted socket).
inline void count_opened_socket() noexcept {
  open_socket_counter().fetch_add(1, std::memory_order_relaxed);
}

inline int close_socket(native_socket s) noexcept {
  open_socket_counter().fetch_sub(1, std::memory_order_relaxed);
  return ::closesocket(s);
}

/// One buffer of a gathered send or a receive (iovec's counterpart).
using io_buffer = WSABUF;
/// A gathered send: Winsock takes the buffer array and its length as
/// arguments; this is what msghdr carries on POSIX systems.
struct send_message {
  WSABUF* buffers = nullptr;
  DWORD count = 0;
};
/// WSABUF lengths are 32-bit: a longer buffer is sent or filled in parts
/// (every caller handles partial transfers).
inline void set_io_buffer(io_buffer& b, const void* data, std::size_t size) noexcept {
  b.buf = static_cast<char*>(const_cast<void*>(data));
  b.len = static_cast<ULONG>(size < (std::size_t{1} << 30) ? size : std::size_t{1} << 30);
}
inline void set_send_message(send_message& m, io_buffer* buffers, std::size_t count) noexcept {
  m.buffers = buffers;
  m.count = static_cast<DWORD>(count);
}

inline constexpr int shut_receive = SD_RECEIVE;
inline constexpr int shut_send = SD_SEND;
inline constexpr int shut_both = SD_BOTH;
/// A failed shutdown() that only says the socket is not connected.
inline bool not_connected(int e) noexcept {
  return e == WSAENOTCONN;
}

/// The interface index of a zone name ("fe80::1%12"). Windows names its
/// interfaces by number in addresses, and looking a name up needs
/// iphlpapi; only numbers are taken (the caller parses those), so a name
/// gives 0 (unknown).
inline unsigned if_name_to_index(const char*) noexcept {
  return 0;
}

/// The text of an OS error code (errno or WSAE*), as the system says it.
inline std::string system_message(int e) {
  char* text = nullptr;
  const DWORD n = ::FormatMessageA(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, static_cast<DWORD>(e), 0, reinterpret_cast<char*>(&text), 0, nullptr);
  if (n == 0 || text == nullptr) return std::system_category().message(e);
  std::string s(text, n);
  ::LocalFree(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '.'))
    s.pop_back();
  return s;
}
#else
/// A socket: a file descriptor on POSIX systems.
using native_socket = int;
inline constexpr native_socket invalid_socket = -1;

/// Winsock only; nothing to start elsewhere.
inline int winsock_startup() noexcept {
  return 0;
}

/// The error of the last failed socket call on this thread (errno).
inline int last_socket_error() noexcept {
  return errno;
}

inline int close_socket(native_socket s) noexcept {
  return ::close(s);
}

/// One buffer of a gathered send or a receive.
using io_buffer = iovec;
/// A gathered send (what sendmsg takes).
using send_message = msghdr;
inline void set_io_buffer(io_buffer& b, const void* data, std::size_t size) noexcept {
  b.iov_base = const_cast<void*>(data);
  b.iov_len = size;
}
inline void set_send_message(send_message& m, io_buffer* buffers, std::size_t count) noexcept {
  m = {};
  m.msg_iov = buffers;
  m.msg_iovlen = count;
}

inline constexpr int shut_receive = SHUT_RD;
inline constexpr int shut_send = SHUT_WR;
inline constexpr int shut_both = SHUT_RDWR;
/// A failed shutdown() that only says the socket is not connected.
inline bool not_connected(int e) noexcept {
  return e == ENOTCONN;
}

/// The interface index of a zone name ("fe80::1%eth0"), 0 if there is none.
inline unsigned if_name_to_index(const char* name) noexcept {
  return ::if_nametoindex(name);
}

/// The text of an OS error code (errno), as the system says it.
inline std::string system_message(int e) {
  return std::system_category().message(e);
}
#endif

}  // namespace netaio::inline v0::detail
