// The syscall limit: the one-connection scenarios on blocking sockets, one
// thread per end, with the same buffering as the others (read into a large
// buffer, parse frames in place, answer every frame of a read in one write).
//
//   bench_io_raw rtt SECONDS      request/response round trips per second
//   bench_io_raw oneway SECONDS   one-way frames per second
//   bench_io_raw close CONNS MAX_SECONDS
//     the floor of the cancellation scenario: prints "PORT n", accepts CONNS
//     connections and answers one frame on each, then times closing them all
//     (what any stop that leaves no socket open must pay)
//   bench_io_raw close_epoll CONNS MAX_SECONDS
//     the same with each socket in an epoll set first: close() then also
//     takes it out of the set, which a readiness reactor cannot avoid
#include "common.hpp"
#include "posix.hpp"

#include <sys/socket.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/epoll.h>
#endif

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace netaio_bench;

namespace {

// Answers every complete frame with one frame, one write per read.
void echo_server(int listener) {
  const int fd = ::accept(listener, nullptr, nullptr);
  if (fd < 0) die("accept");
  set_nodelay(fd);
  frame_buffer buf(big_buffer);
  const std::vector<unsigned char> replies = make_frames(big_buffer / frame_size + 1, 2);
  for (;;) {
    const ssize_t n = ::recv(fd, buf.space(), buf.space_size(), 0);
    if (n <= 0) break;
    const std::uint64_t frames = buf.commit(static_cast<std::size_t>(n));
    if (frames != 0 && !send_all(fd, replies.data(), frames * frame_size)) break;
  }
  ::close(fd);
}

int rtt(double seconds) {
  std::uint16_t port = 0;
  const int listener = listen_loopback(port);
  std::thread server(echo_server, listener);
  const int fd = connect_loopback(port);
  const std::vector<unsigned char> request = make_frames(1);
  frame_buffer buf(big_buffer);
  auto round_trip = [&] {
    if (!send_all(fd, request.data(), frame_size)) die("send");
    std::uint64_t got = 0;
    while (got == 0) {
      const ssize_t n = ::recv(fd, buf.space(), buf.space_size(), 0);
      if (n <= 0) die("recv");
      got = buf.commit(static_cast<std::size_t>(n));
    }
  };
  for (int i = 0; i < 2000; ++i)
    round_trip();  // warm-up
  std::uint64_t count = 0;
  const auto t0 = bench_clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  while (bench_clock::now() < end) {
    for (int i = 0; i < 64; ++i)
      round_trip();
    count += 64;
  }
  const double elapsed = seconds_since(t0);
  ::close(fd);
  server.join();
  ::close(listener);
  print_result("rtt", "raw", static_cast<double>(count) / elapsed, "rtt/s",
               "count=" + std::to_string(count));
  return 0;
}

int oneway(double seconds) {
  std::uint16_t port = 0;
  const int listener = listen_loopback(port);
  std::uint64_t received = 0;
  double elapsed = 0;
  std::thread receiver([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) die("accept");
    frame_buffer buf(big_buffer);
    ssize_t n = ::recv(fd, buf.space(), buf.space_size(), 0);
    const auto t0 = bench_clock::now();
    while (n > 0) {
      received += buf.commit(static_cast<std::size_t>(n));
      n = ::recv(fd, buf.space(), buf.space_size(), 0);
    }
    elapsed = seconds_since(t0);
    ::close(fd);
  });
  const int fd = connect_loopback(port);
  const std::vector<unsigned char> batch = make_frames(batch_frames);
  std::uint64_t sent = 0;
  const auto end = bench_clock::now() + std::chrono::duration<double>(seconds);
  while (bench_clock::now() < end) {
    if (!send_all(fd, batch.data(), batch.size())) die("send");
    sent += batch_frames;
  }
  ::shutdown(fd, SHUT_WR);
  receiver.join();
  ::close(fd);
  ::close(listener);
  if (received != sent) {
    std::fprintf(stderr, "bench_io_raw: sent %llu frames, received %llu\n",
                 static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received));
    return 1;
  }
  print_result("oneway", "raw", static_cast<double>(received) / elapsed, "frames/s",
               "count=" + std::to_string(received));
  return 0;
}

int close_all(std::size_t count, bool registered) {
  raise_fd_limit();
  std::uint16_t port = 0;
  const int listener = listen_loopback(port);
  std::printf("PORT %u\n", static_cast<unsigned>(port));
  std::fflush(stdout);
  const std::vector<unsigned char> reply = make_frames(1, 2);
  std::vector<int> fds;
  fds.reserve(count);
  while (fds.size() < count) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) die("accept");
    set_nodelay(fd);
    unsigned char frame[frame_size];
    std::size_t got = 0;
    while (got < frame_size) {
      const ssize_t n = ::recv(fd, frame + got, frame_size - got, 0);
      if (n <= 0) die("recv");
      got += static_cast<std::size_t>(n);
    }
    if (!send_all(fd, reply.data(), frame_size)) die("send");
    fds.push_back(fd);
  }
  // The reactor's share of the floor: each socket in an epoll set, as a
  // readiness reactor keeps it, so close() also unregisters it.
  int ep = -1;
  if (registered) {
#ifdef __linux__
    ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    for (int fd : fds) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.fd = fd;
      if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
    }
#else
    die("close_epoll: epoll is Linux only");
#endif
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const double cpu0 = cpu_seconds();
  const double wait0 = runqueue_wait_seconds();
  const auto t0 = bench_clock::now();
  for (int fd : fds)
    ::close(fd);
  const double ms = seconds_since(t0) * 1000.0;
  char extra[128];
  std::snprintf(extra, sizeof extra, "sockets=%zu cpu_ms=%.2f runq_wait_ms=%.2f", count,
                (cpu_seconds() - cpu0) * 1000.0, (runqueue_wait_seconds() - wait0) * 1000.0);
  print_result(registered ? "close10k_epoll" : "close10k", "raw", ms, "ms", extra);
  if (ep >= 0) ::close(ep);
  ::close(listener);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string scenario = argc > 1 ? argv[1] : "";
  if ((scenario == "close" || scenario == "close_epoll") && argc == 4) {
    self_destruct_after(static_cast<unsigned>(std::atoi(argv[3])));
    return close_all(static_cast<std::size_t>(std::atol(argv[2])), scenario == "close_epoll");
  }
  const double seconds = arg_or(argc, argv, 2, 2.0);
  self_destruct_after(static_cast<unsigned>(seconds) + 30);
  if (scenario == "rtt") return rtt(seconds);
  if (scenario == "oneway") return oneway(seconds);
  std::fprintf(stderr,
               "usage: bench_io_raw rtt|oneway [SECONDS] | close|close_epoll CONNS MAX_SECONDS\n");
  return 2;
}
