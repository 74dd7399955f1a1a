// Library-wide configuration: version, assertions, platform selection.
#pragma once

#include <netaio/version.hpp>

#include <cstdio>
#include <cstdlib>

// Debug-build invariant checks; they stay on unless NDEBUG or NETAIO_NO_ASSERT.
#if !defined(NETAIO_ASSERT)
#if defined(NDEBUG) || defined(NETAIO_NO_ASSERT)
#define NETAIO_ASSERT(cond, msg) ((void)0)
#else
#define NETAIO_ASSERT(cond, msg)                                                              \
  ((cond) ? (void)0                                                                           \
          : (std::fprintf(stderr, "netaio: assertion failed: %s (%s) at %s:%d\n", msg, #cond, \
                          __FILE__, __LINE__),                                                \
             std::abort()))
#endif
#endif

// Platform backends: each is on where the platform has it, and any may be
// forced with -DNETAIO_HAS_X=0/1. io/detail/backend_select.hpp picks one.
#if !defined(NETAIO_HAS_EPOLL)
#if defined(__linux__)
#define NETAIO_HAS_EPOLL 1
#else
#define NETAIO_HAS_EPOLL 0
#endif
#endif
#if !defined(NETAIO_HAS_KQUEUE)
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
#define NETAIO_HAS_KQUEUE 1
#else
#define NETAIO_HAS_KQUEUE 0
#endif
#endif
#if !defined(NETAIO_HAS_IOCP)
#if defined(_WIN32)
#define NETAIO_HAS_IOCP 1
#else
#define NETAIO_HAS_IOCP 0
#endif
#endif
// io_uring (Linux) is opt-in: off unless -DNETAIO_HAS_IO_URING=1 (Meson:
// -Dio_uring=true, which also links liburing). When on, it wins over epoll.
#if !defined(NETAIO_HAS_IO_URING)
#define NETAIO_HAS_IO_URING 0
#endif
