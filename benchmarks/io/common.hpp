// What every io benchmark program shares, whatever runs its sockets: the
// netaio-shaped frame, the in-place frame parser, the result line, and small
// process helpers (descriptor limit, resident memory, a self-destruct timer).
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace netaio_bench {

// A frame: u8 type | u16 auth_length | u16 body_length | u32 crc32, then
// auth_length + body_length bytes; 79 bytes in all.
inline constexpr std::size_t header_size = 9;
inline constexpr std::uint16_t auth_length = 16;
inline constexpr std::uint16_t body_length = 54;
inline constexpr std::size_t frame_size = header_size + auth_length + body_length;
static_assert(frame_size == 79);

/// The large receive buffer of the one-connection scenarios.
inline constexpr std::size_t big_buffer = 64 * 1024;
/// The per-connection receive buffer of the 10,000-connection scenarios.
inline constexpr std::size_t conn_buffer = 4 * 1024;
/// Frames in one batched write of the one-way sender (just under 64 KiB).
inline constexpr std::size_t batch_frames = big_buffer / frame_size;

/// Writes one frame at `p` (frame_size bytes).
inline void make_frame(unsigned char* p, unsigned char type) noexcept {
  p[0] = type;
  p[1] = static_cast<unsigned char>(auth_length >> 8);
  p[2] = static_cast<unsigned char>(auth_length & 0xff);
  p[3] = static_cast<unsigned char>(body_length >> 8);
  p[4] = static_cast<unsigned char>(body_length & 0xff);
  p[5] = 0x12;  // a crc field nobody checks here (the same for everyone)
  p[6] = 0x34;
  p[7] = 0x56;
  p[8] = 0x78;
  for (std::size_t i = header_size; i < frame_size; ++i)
    p[i] = static_cast<unsigned char>(i);
}

/// `count` frames back to back.
inline std::vector<unsigned char> make_frames(std::size_t count, unsigned char type = 1) {
  std::vector<unsigned char> v(count * frame_size);
  for (std::size_t i = 0; i < count; ++i)
    make_frame(v.data() + i * frame_size, type);
  return v;
}

/// Parses complete frames in place from p[0, n): reads each header and its
/// two lengths. Adds the complete frames to `frames` and returns the bytes
/// they take; a malformed header (type 0) ends the program.
inline std::size_t parse_frames(const unsigned char* p, std::size_t n,
                                std::uint64_t& frames) noexcept {
  std::size_t off = 0;
  while (n - off >= header_size) {
    const unsigned char* h = p + off;
    const std::size_t total =
        header_size + (std::size_t{h[1]} << 8 | h[2]) + (std::size_t{h[3]} << 8 | h[4]);
    if (n - off < total) break;
    if (h[0] == 0) {
      std::fprintf(stderr, "bench: malformed frame\n");
      std::_Exit(3);
    }
    ++frames;
    off += total;
  }
  return off;
}

/// A receive buffer parsed in place: read into space(), then commit(n)
/// parses and keeps the incomplete tail at the front.
class frame_buffer {
 public:
  explicit frame_buffer(std::size_t capacity)
      : data_(new unsigned char[capacity]), cap_(capacity) {}
  ~frame_buffer() { delete[] data_; }
  frame_buffer(const frame_buffer&) = delete;
  frame_buffer& operator=(const frame_buffer&) = delete;

  unsigned char* space() noexcept { return data_ + len_; }
  std::size_t space_size() const noexcept { return cap_ - len_; }
  /// Takes `n` more bytes; returns how many complete frames they finished.
  std::uint64_t commit(std::size_t n) noexcept {
    len_ += n;
    std::uint64_t frames = 0;
    const std::size_t used = parse_frames(data_, len_, frames);
    if (used != 0) {
      len_ -= used;
      if (len_ != 0) std::memmove(data_, data_ + used, len_);
    }
    return frames;
  }

 private:
  unsigned char* data_;
  std::size_t cap_;
  std::size_t len_ = 0;
};

using bench_clock = std::chrono::steady_clock;

inline double seconds_since(bench_clock::time_point t0) noexcept {
  return std::chrono::duration<double>(bench_clock::now() - t0).count();
}

/// CPU time (user + system) this process has used, in seconds.
inline double cpu_seconds() noexcept {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// Time this process's threads spent runnable but waiting for a CPU, in
/// seconds (/proc/self/schedstat): what a busy machine adds to wall time.
inline double runqueue_wait_seconds() {
  std::FILE* f = std::fopen("/proc/self/schedstat", "r");
  if (f == nullptr) return 0;
  unsigned long long on_cpu = 0;
  unsigned long long waiting = 0;
  const int got = std::fscanf(f, "%llu %llu", &on_cpu, &waiting);
  std::fclose(f);
  return got == 2 ? static_cast<double>(waiting) / 1e9 : 0;
}

/// The one machine-readable line a benchmark program prints.
inline void print_result(const char* scenario, const char* impl, double value, const char* unit,
                         const std::string& extra = {}) {
  std::printf("RESULT scenario=%s impl=%s value=%.6g unit=%s%s%s\n", scenario, impl, value, unit,
              extra.empty() ? "" : " ", extra.c_str());
  std::fflush(stdout);
}

/// Raises the descriptor limit to the hard limit; returns the new soft limit.
inline rlim_t raise_fd_limit() noexcept {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
  ::getrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur;
}

/// Resident memory of process `pid` (0: this one), in bytes.
inline long resident_bytes(long pid = 0) {
  const std::string path =
      pid == 0 ? std::string("/proc/self/statm") : "/proc/" + std::to_string(pid) + "/statm";
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return -1;
  long size = 0;
  long resident = 0;
  const int got = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (got != 2) return -1;
  return resident * ::sysconf(_SC_PAGESIZE);
}

/// The process ends itself (SIGALRM) after `seconds`, whatever happens.
inline void self_destruct_after(unsigned seconds) noexcept {
  ::alarm(seconds);
}

inline void set_nodelay(int fd) noexcept {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/// argv[i] as a number, or `fallback` when absent.
inline double arg_or(int argc, char** argv, int i, double fallback) {
  return argc > i ? std::atof(argv[i]) : fallback;
}

}  // namespace netaio_bench
