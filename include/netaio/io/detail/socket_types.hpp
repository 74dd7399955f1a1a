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

#include <cerrno>
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

inline int close_socket(native_socket s) noexcept {
  return ::closesocket(s);
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
