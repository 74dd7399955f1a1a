// Open-descriptor counting for leak assertions (Linux: /proc/self/fd;
// Windows, which has no descriptor count to read: the sockets the library
// opened and has not closed).
#pragma once

#if defined(_WIN32)
#include <netaio/io/detail/socket_types.hpp>
#else
#include <dirent.h>
#endif
#if defined(__linux__) && defined(NETAIO_HAS_KQUEUE) && NETAIO_HAS_KQUEUE
#include <netaio/io/io_context.hpp>
#endif

#include <cstddef>

namespace test {

/// How many descriptors this process has open now (-1 if unknown here).
inline long open_fd_count() {
#if defined(_WIN32)
  return netaio::detail::open_socket_count();
#else
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  long n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the directory stream's own descriptor
#endif
}

/// Remembers the count at construction; delta() is the change since.
class fd_baseline {
 public:
  fd_baseline() : start_((warm_up(), open_fd_count())) {}
  long delta() const { return open_fd_count() - start_; }
  long start() const { return start_; }

 private:
  /// The kqueue backend on Linux runs over libkqueue, which opens two
  /// descriptors for the whole process with its first kqueue and keeps
  /// them: they must exist before the count, or the first test leaks two.
  static void warm_up() {
#if defined(__linux__) && defined(NETAIO_HAS_KQUEUE) && NETAIO_HAS_KQUEUE
    [[maybe_unused]] static const bool once = [] {
      netaio::io_context warm;
      return true;
    }();
#endif
  }

  long start_;
};

}  // namespace test
