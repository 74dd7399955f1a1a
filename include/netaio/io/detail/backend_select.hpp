// Picks the io backend for this platform at compile time. The NETAIO_HAS_*
// switches come from netaio/detail/config.hpp and may be overridden with
// -DNETAIO_HAS_X=0/1 (io_uring is opt-in and, when on, wins over epoll).
// Every backend provides the same members:
//   std::size_t wait(nanoseconds) / void wake()   (detail::loop_backend;
//   wait_until(deadline, now) where the backend has a better way)
//   void add(fd_state&) / void remove(fd_state&)  (registration, once per fd)
//   abort_all(), registered(), pending_operations(), closed()
//   static constexpr io_model model               (readiness or completion)
// Completion backends also provide the primitives the awaiters' completion
// paths call (submit_recv, start_sendmsg) and override
// reactor_registry::cancel_in_flight and reap; readiness ops on them call
// watch(fd_state&, bool read) when they start to wait.
#pragma once

#include <netaio/detail/config.hpp>
// What every backend builds on, included before the choice so that the
// single header (which inlines each header once, where first included)
// holds them outside the #if branches.
#include <netaio/core/detail/loop_backend.hpp>
#include <netaio/io/detail/eventfd_wake.hpp>
#include <netaio/io/detail/reactor_op.hpp>
#include <netaio/io/detail/registration_table.hpp>
#include <netaio/io/detail/sockaddr.hpp>
#include <netaio/io/detail/socket_types.hpp>
#include <netaio/io/error.hpp>

#if NETAIO_HAS_IO_URING
#include <netaio/io/detail/uring_backend.hpp>
namespace netaio::inline v0::detail {
using io_backend = uring_backend;
}
#elif NETAIO_HAS_EPOLL
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
// Windows: completion based (iocp_op.hpp), for every socket operation.
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

/// What callers of any backend rely on.
template <class B>
concept socket_backend = std::derived_from<B, loop_backend> && requires(B& b, fd_state& s) {
  { B::model } -> std::convertible_to<io_model>;
  b.add(s);
  { b.remove(s) }
  noexcept;
  { b.abort_all() }
  noexcept;
  { b.registered() } -> std::convertible_to<std::size_t>;
  { b.pending_operations() } -> std::convertible_to<std::size_t>;
};
static_assert(socket_backend<io_backend>);
/// What the completion paths of the stream awaiters call.
template <class B>
concept completion_backend = socket_backend<B> &&
    requires(B& b, reactor_op& op, const send_message* m) {
  { b.submit_recv(op, nullptr, std::size_t{}) }
  noexcept;
  { b.start_sendmsg(op, m, true) }
  noexcept->std::same_as<bool>;
};
static_assert(io_backend::model != io_model::completion || completion_backend<io_backend>);

}  // namespace netaio::inline v0::detail
