// Helpers for io tests: waiting on conditions without wall-clock sleeps,
// kernel queue probes, and loopback situations (a connect that never
// completes, a peer that never reads).
#pragma once

#include <netaio/core.hpp>
#include <netaio/io.hpp>

#include <doctest/doctest.h>
#if !defined(_WIN32)
#include <ifaddrs.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#endif

#include <array>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace test {

/// Yields (lets the loop poll I/O) until `pred` holds; fails the test if it
/// never does within a generous number of turns.
inline netaio::task<void> wait_until(std::function<bool()> pred, int max_turns = 1'000'000) {
  for (int i = 0; i < max_turns; ++i) {
    if (pred()) co_return;
    co_await netaio::yield();
  }
  FAIL("condition never became true");
}

using socket_t = netaio::detail::native_socket;

/// Bytes waiting in a socket's receive queue.
inline int unread_bytes(socket_t fd) {
#if defined(_WIN32)
  u_long n = 0;
  if (::ioctlsocket(fd, FIONREAD, &n) != 0) return -1;
  return static_cast<int>(n);
#else
  int n = -1;
  ::ioctl(fd, FIONREAD, &n);
  return n;
#endif
}
/// Whether every byte sent on `fd` was acknowledged by the peer (Linux:
/// SIOCOUTQ). Windows has no such count: true there, and the callers'
/// other condition (the bytes are in the peer's queue, or read) is what
/// they wait for.
inline bool all_acknowledged(socket_t fd) {
#if defined(_WIN32)
  (void)fd;
  return true;
#else
  int n = -1;
  ::ioctl(fd, SIOCOUTQ, &n);
  return n == 0;
#endif
}

/// True when this Windows build runs under Wine (ntdll exports
/// wine_get_version there): for the few cases where Wine differs from
/// Windows, which skip only under Wine, saying so.
inline bool under_wine() {
#if defined(_WIN32)
  HMODULE ntdll = ::GetModuleHandleA("ntdll.dll");
  return ntdll != nullptr && ::GetProcAddress(ntdll, "wine_get_version") != nullptr;
#else
  return false;
#endif
}

/// Where the kernel's work stands, for taken_by_read().
struct progress_mark {
  std::size_t completions = 0;
};
inline progress_mark mark_progress(netaio::io_context& io) {
#if defined(_WIN32)
  return {io.backend().completions()};
#else
  (void)io;
  return {};
#endif
}
/// Waits until the bytes written on `from` (after `mark`) have been taken
/// from the kernel by the read pending on `to`. Linux: nothing unsent, nothing
/// unread. Windows, which counts no unacknowledged bytes: the pending
/// receive's completion packet came (the small write before it finished at
/// once, without one), and nothing is left unread.
inline netaio::task<void> taken_by_read(netaio::io_context& io, socket_t from, socket_t to,
                                        progress_mark mark) {
#if defined(_WIN32)
  (void)from;
  co_await wait_until(
      [&] { return io.backend().completions() > mark.completions && unread_bytes(to) == 0; });
#else
  (void)io;
  (void)mark;
  co_await wait_until([&] { return all_acknowledged(from) && unread_bytes(to) == 0; });
#endif
}

/// An int socket option (Winsock takes it as char*, POSIX as void*).
inline int set_option(socket_t fd, int level, int name, int value) {
  return ::setsockopt(fd, level, name, reinterpret_cast<const char*>(&value), sizeof value);
}

inline void small_buffers(socket_t fd) {
  set_option(fd, SOL_SOCKET, SO_SNDBUF, 4096);
  set_option(fd, SOL_SOCKET, SO_RCVBUF, 4096);
}

/// A listener whose accept queue is full: further connects to it stay
/// pending (the kernel drops their SYNs). Needs a virtual-time loop: each
/// probe waits 1 s of loop time.
struct full_listener {
  netaio::tcp_listener listener;
  std::vector<netaio::tcp_stream> queued;
};

inline netaio::task<full_listener> make_full_listener(netaio::io_context& io) {
  using namespace std::chrono_literals;
  full_listener f;
  f.listener =
      netaio::tcp_listener::bind(io, netaio::endpoint::parse("127.0.0.1:0"), {.backlog = 1});
  for (int i = 0; i < 16; ++i) {
    auto s = co_await netaio::move_on_after(
        1s, netaio::tcp_stream::connect(io, f.listener.local_endpoint()));
    if (!s) co_return f;
    f.queued.push_back(std::move(*s));
  }
  FAIL("the accept queue never filled");
  co_return f;
}

/// An interface that is up and carries multicast (not lo, which lacks
/// IFF_MULTICAST here): its index, or 0 if there is none (always on
/// Windows: finding one needs iphlpapi, and Wine has no multicast routing
/// to show anyway).
inline unsigned multicast_interface() {
#if defined(_WIN32)
  return 0;
#else
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return 0;
  unsigned found = 0;
  for (ifaddrs* i = list; i != nullptr && found == 0; i = i->ifa_next) {
    if ((i->ifa_flags & IFF_MULTICAST) && (i->ifa_flags & IFF_UP) && !(i->ifa_flags & IFF_LOOPBACK))
      found = ::if_nametoindex(i->ifa_name);
  }
  ::freeifaddrs(list);
  return found;
#endif
}

/// A connected loopback TCP pair and the listener that made it.
struct pair_of_streams {
  netaio::tcp_listener listener;
  netaio::tcp_stream client;
  netaio::tcp_stream server;
};

inline netaio::task<pair_of_streams> connected_pair(netaio::io_context& io) {
  pair_of_streams p;
  p.listener = netaio::tcp_listener::bind(io, netaio::endpoint::parse("127.0.0.1:0"));
  p.client = co_await netaio::tcp_stream::connect(io, p.listener.local_endpoint());
  p.server = co_await p.listener.accept();
  co_return p;
}

/// Echoes everything `s` receives until end of stream.
inline netaio::task<void> echo_one(netaio::tcp_stream s) {
  std::array<std::uint8_t, 4096> buf;
  for (;;) {
    std::size_t n = co_await s.read_some(buf);
    if (n == 0) break;
    co_await s.write_all(std::span(buf.data(), n));
  }
}

/// Awaits `op` and records how it ended: "done", "cancelled" or the error.
template <class Op>
netaio::task<void> record(Op op, std::string& outcome) {
  try {
    co_await std::move(op);
    outcome = "done";
  } catch (const netaio::operation_cancelled&) {
    outcome = "cancelled";
    throw;
  } catch (const std::exception& e) {
    outcome = e.what();
  }
}

}  // namespace test
