// Picks the io backend for this platform at compile time. The NETAIO_HAS_*
// switches come from netaio/detail/config.hpp and may be overridden with
// -DNETAIO_HAS_X=0/1. Every backend provides the same members:
//   std::size_t wait(nanoseconds) / void wake()   (detail::loop_backend)
//   void add(fd_state&) / void remove(fd_state&)  (registration, once per fd;
//                                                  IOCP: iocp_socket&, iocp_op.hpp)
//   abort_all(), registered(), pending_operations(), closed()
#pragma once

#include <netaio/detail/config.hpp>
// What every backend builds on, included before the choice so that the
// single header (which inlines each header once, where first included)
// holds them outside the #if branches.
#include <netaio/core/detail/loop_backend.hpp>
#include <netaio/io/detail/reactor_op.hpp>
#include <netaio/io/detail/socket_types.hpp>
#include <netaio/io/error.hpp>

#if NETAIO_HAS_EPOLL
#include <netaio/io/detail/epoll_backend.hpp>
namespace netaio::inline v0::detail {
using io_backend = epoll_backend;
}
#elif NETAIO_HAS_KQUEUE
// BSD and macOS; on Linux, libkqueue (-DNETAIO_HAS_EPOLL=0 -DNETAIO_HAS_KQUEUE=1).
#include <netaio/io/detail/kqueue_backend.hpp>
namespace netaio::inline v0::detail {
using io_backend = kqueue_backend;
}
#elif NETAIO_HAS_IOCP
// Windows: completion based (iocp_op.hpp). Its sockets are iocp_socket,
// not fd_state: it is not a readiness_backend (below).
#include <netaio/io/detail/iocp_backend.hpp>
namespace netaio::inline v0::detail {
using io_backend = iocp_backend;
}
#else
#error "netaio: no io backend for this platform (NETAIO_HAS_EPOLL/KQUEUE/IOCP are all 0)"
#endif

#include <concepts>
#include <cstddef>

namespace netaio::inline v0::detail {

/// What callers of a readiness backend rely on.
template <class B>
concept readiness_backend = std::derived_from<B, loop_backend> && requires(B& b, fd_state& s) {
  b.add(s);
  { b.remove(s) }
  noexcept;
  { b.abort_all() }
  noexcept;
  { b.registered() } -> std::convertible_to<std::size_t>;
  { b.pending_operations() } -> std::convertible_to<std::size_t>;
};
#if !NETAIO_HAS_IOCP
static_assert(readiness_backend<io_backend>);
#endif

}  // namespace netaio::inline v0::detail
