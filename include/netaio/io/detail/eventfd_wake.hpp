// The wake-up of the Linux backends (epoll, io_uring): an eventfd written
// at most once per wait. Included by backend_select.hpp whatever the
// backend (empty off Linux), so the single header holds it once.
#pragma once

#if defined(__linux__)
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace netaio::inline v0::detail {

/// Writes the eventfd `fd`, unless `pending` says a wake-up is on its way
/// already (the backend clears it once it has drained the eventfd).
inline void signal_eventfd(int fd, std::atomic<bool>& pending) noexcept {
  if (pending.exchange(true, std::memory_order_seq_cst)) return;
  std::uint64_t one = 1;
  ssize_t r;
  do {
    r = ::write(fd, &one, sizeof one);
  } while (r < 0 && errno == EINTR);
}

}  // namespace netaio::inline v0::detail
#endif
