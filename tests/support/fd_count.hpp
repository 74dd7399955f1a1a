// Open-descriptor counting for leak assertions (Linux: /proc/self/fd).
#pragma once

#include <dirent.h>

#include <cstddef>

namespace test {

/// How many descriptors this process has open now (-1 if unknown here).
inline long open_fd_count() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  long n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

/// Remembers the count at construction; delta() is the change since.
class fd_baseline {
 public:
  fd_baseline() : start_(open_fd_count()) {}
  long delta() const { return open_fd_count() - start_; }
  long start() const { return start_; }

 private:
  long start_;
};

}  // namespace test
