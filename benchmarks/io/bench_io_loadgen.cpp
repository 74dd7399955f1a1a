// The load generator of the many-connection scenarios, the same for every
// server: one epoll thread, non-blocking sockets, one frame in flight per
// connection. Runs in its own process, apart from the server it measures.
//
//   bench_io_loadgen conn10k PORT CONNS SECONDS SERVER_PID IMPL
//     connects CONNS connections (in waves, each answered once), reads the
//     server's resident memory idle, then has every connection do round
//     trips for SECONDS; prints the aggregate round trips per second and
//     the server's memory per connection.
//   bench_io_loadgen idle PORT CONNS MAX_SECONDS [FRAME_HEX]
//     connects CONNS connections, each answered once, prints "READY", then
//     waits until the server has closed every one (or MAX_SECONDS passed).
//     FRAME_HEX: the frame each connection sends instead of the io frame
//     (the node benchmark's valid request, say).
#include "common.hpp"
#include "posix.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace netaio_bench;

namespace {

/// The frame every connection sends (the io frame unless given).
std::vector<unsigned char>& request_frame() {
  static std::vector<unsigned char> frame = make_frames(1);
  return frame;
}

bool set_request_frame(const std::string& hex) {
  std::vector<unsigned char> v;
  if (hex.size() % 2 != 0 || hex.size() < 2 * header_size) return false;
  for (std::size_t i = 0; i < hex.size(); i += 2)
    v.push_back(static_cast<unsigned char>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  request_frame() = std::move(v);
  return true;
}

struct connection {
  int fd = -1;
  std::unique_ptr<frame_buffer> buf;
};

class load {
 public:
  load(std::uint16_t port, std::size_t count) : port_(port), conns_(count) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) die("epoll_create1");
  }
  ~load() {
    for (auto& c : conns_)
      if (c.fd >= 0) ::close(c.fd);
    ::close(epoll_);
  }

  // Connects every connection, a wave at a time; each wave's connections
  // send one frame and get its answer before the next wave starts, so the
  // server's accept backlog never overflows.
  void connect_all() {
    constexpr std::size_t wave = 500;
    for (std::size_t first = 0; first < conns_.size(); first += wave) {
      const std::size_t last = std::min(conns_.size(), first + wave);
      for (std::size_t i = first; i < last; ++i) {
        connection& c = conns_[i];
        c.fd = connect_loopback(port_);
        set_nonblocking(c.fd);
        c.buf = std::make_unique<frame_buffer>(512);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev) != 0) die("epoll_ctl");
        send_frame(c);
      }
      std::size_t waiting = last - first;
      while (waiting > 0) {
        const std::uint64_t got = poll(5000);
        if (got == 0) {
          std::fprintf(stderr, "bench_io_loadgen: the server stopped answering\n");
          std::exit(2);
        }
        waiting -= got;
      }
    }
  }

  /// Round trips on every connection for `seconds`; returns how many.
  std::uint64_t run(double seconds) {
    sending_ = true;
    for (auto& c : conns_)
      send_frame(c);
    std::uint64_t count = 0;
    const auto end = bench_clock::now() + std::chrono::duration<double>(seconds);
    while (bench_clock::now() < end)
      count += poll(100);
    sending_ = false;
    return count;
  }

  /// Waits until the server closed every connection; false on timeout.
  bool wait_closed(double seconds) {
    const auto end = bench_clock::now() + std::chrono::duration<double>(seconds);
    while (closed_ < conns_.size() && bench_clock::now() < end)
      poll(100);
    return closed_ == conns_.size();
  }

 private:
  void send_frame(connection& c) {
    const std::vector<unsigned char>& frame = request_frame();
    if (::send(c.fd, frame.data(), frame.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(frame.size())) {
      die("send");
    }
  }

  // One epoll_wait; returns the answers it read (answering each if sending).
  std::uint64_t poll(int timeout_ms) {
    epoll_event events[256];
    const int n = ::epoll_wait(epoll_, events, 256, timeout_ms);
    std::uint64_t answers = 0;
    for (int e = 0; e < n; ++e) {
      connection& c = conns_[events[e].data.u64];
      const ssize_t r = ::recv(c.fd, c.buf->space(), c.buf->space_size(), 0);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
        c.fd = -1;
        ++closed_;
        continue;
      }
      const std::uint64_t got = c.buf->commit(static_cast<std::size_t>(r));
      answers += got;
      if (sending_) {
        for (std::uint64_t i = 0; i < got; ++i)
          send_frame(c);
      }
    }
    return answers;
  }

  std::uint16_t port_;
  std::vector<connection> conns_;
  int epoll_ = -1;
  std::size_t closed_ = 0;
  bool sending_ = false;
};

int conn10k(std::uint16_t port, std::size_t count, double seconds, long server_pid,
            const char* impl) {
  const long base = resident_bytes(server_pid);
  load l(port, count);
  const auto t0 = bench_clock::now();
  l.connect_all();
  const double connect_s = seconds_since(t0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const long idle = resident_bytes(server_pid);
  l.run(0.3);  // warm-up
  const auto t1 = bench_clock::now();
  const std::uint64_t trips = l.run(seconds);
  const double elapsed = seconds_since(t1);
  const long loaded = resident_bytes(server_pid);
  const double n = static_cast<double>(count);
  const double idle_per_conn = static_cast<double>(idle - base) / n;
  char extra[512];
  std::snprintf(extra, sizeof extra,
                "conns=%zu connect_s=%.2f rss_base_kib=%ld rss_idle_per_conn_b=%.0f "
                "rss_loaded_per_conn_b=%.0f idle_overhead_per_conn_b=%.0f buffer_b=%zu",
                count, connect_s, base / 1024, idle_per_conn,
                static_cast<double>(loaded - base) / n,
                idle_per_conn - static_cast<double>(conn_buffer), conn_buffer);
  print_result("conn10k", impl, static_cast<double>(trips) / elapsed, "rtt/s", extra);
  return 0;
}

int idle(std::uint16_t port, std::size_t count, double max_seconds) {
  load l(port, count);
  l.connect_all();
  std::printf("READY\n");
  std::fflush(stdout);
  const bool all = l.wait_closed(max_seconds);
  return all ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  raise_fd_limit();
  if (mode == "conn10k" && argc == 7) {
    const double seconds = std::atof(argv[4]);
    self_destruct_after(static_cast<unsigned>(seconds) + 60);
    return conn10k(static_cast<std::uint16_t>(std::atoi(argv[2])),
                   static_cast<std::size_t>(std::atol(argv[3])), seconds, std::atol(argv[5]),
                   argv[6]);
  }
  if (mode == "idle" && (argc == 5 || argc == 6)) {
    if (argc == 6 && !set_request_frame(argv[5])) {
      std::fprintf(stderr, "bench_io_loadgen: bad FRAME_HEX\n");
      return 2;
    }
    const double seconds = std::atof(argv[4]);
    self_destruct_after(static_cast<unsigned>(seconds) + 10);
    return idle(static_cast<std::uint16_t>(std::atoi(argv[2])),
                static_cast<std::size_t>(std::atol(argv[3])), seconds);
  }
  std::fprintf(stderr,
               "usage: bench_io_loadgen conn10k PORT CONNS SECONDS SERVER_PID IMPL\n"
               "       bench_io_loadgen idle PORT CONNS MAX_SECONDS [FRAME_HEX]\n");
  return 2;
}
