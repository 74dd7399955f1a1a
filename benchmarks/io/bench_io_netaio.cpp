// The scenarios on netaio: io_context, tcp_listener, tcp_stream, tasks and
// scopes, with the same buffering as the others (a large buffer parsed in
// place, every frame of a read answered in one write).
//
//   bench_io_netaio rtt SECONDS       round trips per second, one connection
//   bench_io_netaio oneway SECONDS    one-way frames per second, one connection
//   bench_io_netaio server MAX_SECONDS
//     the server of the many-connection scenario: prints "PORT n", answers
//     every frame, and exits once every connection it had is closed.
//   bench_io_netaio cancel CONNS MAX_SECONDS
//     prints "PORT n"; once CONNS connections have each been answered once
//     (their tasks now blocked in read), cancels the scope that owns them and
//     prints how long until its join completed.
#include "common.hpp"

#include <netaio/core.hpp>
#include <netaio/io/io_context.hpp>
#include <netaio/io/tcp_listener.hpp>
#include <netaio/io/tcp_stream.hpp>

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <thread>
#include <vector>

using namespace netaio_bench;
using namespace netaio;

namespace {

using namespace std::chrono_literals;

const std::vector<unsigned char>& replies() {
  static const std::vector<unsigned char> v = make_frames(big_buffer / frame_size + 1, 2);
  return v;
}

std::span<unsigned char> space(frame_buffer& buf) noexcept {
  return {buf.space(), buf.space_size()};
}

/// What a connection task reports to its server.
struct conn_hooks {
  std::size_t live = 0;
  std::size_t answered_first = 0;  // connections answered at least once
  std::size_t expect = 0;          // set `all_answered` when answered_first reaches it
  async_event all_answered;
  task_scope* on_last_gone = nullptr;  // cancelled when `live` returns to 0
};

// Answers every complete frame with one frame, one write per read.
task<> echo(tcp_stream s, std::size_t buffer_size, conn_hooks* hooks) {
  frame_buffer buf(buffer_size);
  const unsigned char* out = replies().data();
  bool first = true;
  try {
    for (;;) {
      const std::size_t n = co_await s.read_some(space(buf));
      if (n == 0) break;
      const std::uint64_t frames = buf.commit(n);
      if (frames != 0) {
        co_await s.write_all(std::span(out, frames * frame_size));
        if (first && hooks != nullptr) {
          first = false;
          if (++hooks->answered_first == hooks->expect) hooks->all_answered.set();
        }
      }
    }
  } catch (const io_error&) {
    // A peer that resets is gone like one that closes.
  }
  if (hooks != nullptr && --hooks->live == 0 && hooks->on_last_gone != nullptr) {
    hooks->on_last_gone->cancel();
  }
}

tcp_listener listen(io_context& io) {
  return tcp_listener::bind(io, endpoint(ip_address::loopback(), 0));
}

task<> serve_one(tcp_listener& l) {
  tcp_stream s = co_await l.accept();
  l.close();
  co_await echo(std::move(s), big_buffer, nullptr);
}

task<std::uint64_t> rtt_client(io_context& io, std::uint16_t port, double seconds,
                               double& elapsed) {
  tcp_stream s = co_await tcp_stream::connect(io, endpoint(ip_address::loopback(), port));
  const std::vector<unsigned char> request = make_frames(1);
  frame_buffer buf(big_buffer);
  auto round_trip = [&]() -> task<> {
    co_await s.write_all(request);
    std::uint64_t got = 0;
    while (got == 0) {
      const std::size_t n = co_await s.read_some(space(buf));
      if (n == 0) throw error("bench: the server closed the connection");
      got = buf.commit(n);
    }
  };
  for (int i = 0; i < 2000; ++i)
    co_await round_trip();
  std::uint64_t count = 0;
  const auto t0 = bench_clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  while (bench_clock::now() < end) {
    for (int i = 0; i < 64; ++i)
      co_await round_trip();
    count += 64;
  }
  elapsed = seconds_since(t0);
  co_return count;
}

int rtt(double seconds) {
  io_context server_io;
  tcp_listener listener = listen(server_io);
  const std::uint16_t port = listener.local_endpoint().port();
  std::thread server([&] { server_io.run(serve_one(listener)); });
  io_context io;
  double elapsed = 0;
  const std::uint64_t count = io.run(rtt_client(io, port, seconds, elapsed));
  server.join();
  print_result("rtt", "netaio", static_cast<double>(count) / elapsed, "rtt/s",
               "count=" + std::to_string(count));
  return 0;
}

task<std::uint64_t> receive_all(tcp_listener& l, double& elapsed) {
  tcp_stream s = co_await l.accept();
  l.close();
  frame_buffer buf(big_buffer);
  std::uint64_t received = 0;
  std::size_t n = co_await s.read_some(space(buf));
  const auto t0 = bench_clock::now();
  while (n != 0) {
    received += buf.commit(n);
    n = co_await s.read_some(space(buf));
  }
  elapsed = seconds_since(t0);
  co_return received;
}

task<std::uint64_t> send_for(io_context& io, std::uint16_t port, double seconds) {
  tcp_stream s = co_await tcp_stream::connect(io, endpoint(ip_address::loopback(), port));
  const std::vector<unsigned char> batch = make_frames(batch_frames);
  std::uint64_t sent = 0;
  const auto end = bench_clock::now() + std::chrono::duration<double>(seconds);
  while (bench_clock::now() < end) {
    co_await s.write_all(batch);
    sent += batch_frames;
  }
  s.shutdown(shutdown_how::send);
  unsigned char c = 0;
  co_await s.read_some(std::span(&c, 1));  // until the receiver has read it all
  co_return sent;
}

int oneway(double seconds) {
  io_context server_io;
  tcp_listener listener = listen(server_io);
  const std::uint16_t port = listener.local_endpoint().port();
  std::uint64_t received = 0;
  double elapsed = 0;
  std::thread receiver([&] { received = server_io.run(receive_all(listener, elapsed)); });
  io_context io;
  const std::uint64_t sent = io.run(send_for(io, port, seconds));
  receiver.join();
  if (received != sent) {
    std::fprintf(stderr, "bench_io_netaio: sent %llu frames, received %llu\n",
                 static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received));
    return 1;
  }
  print_result("oneway", "netaio", static_cast<double>(received) / elapsed, "frames/s",
               "count=" + std::to_string(received));
  return 0;
}

// Accepts into `conns` for as long as it is not cancelled.
task<> accept_loop(tcp_listener& l, task_scope& conns, conn_hooks& hooks) {
  for (;;) {
    tcp_stream s = co_await l.accept();
    ++hooks.live;
    conns.spawn(echo(std::move(s), conn_buffer, &hooks), "connection");
  }
}

task<> server_main(tcp_listener& l) {
  task_context& ctx = co_await this_context();
  task_scope scope(ctx);
  scope.supervise([](const child_error&) {});  // one bad peer must not stop the server
  conn_hooks hooks;
  hooks.on_last_gone = &scope;  // the last connection gone: the run is over
  scope.spawn(accept_loop(l, scope, hooks), "accept");
  co_await scope.join();
}

int server(io_context& io, tcp_listener& l) {
  std::printf("PORT %u\n", static_cast<unsigned>(l.local_endpoint().port()));
  std::fflush(stdout);
  io.run(server_main(l));
  return 0;
}

task<double> cancel_main(tcp_listener& l, std::size_t count, double& cancel_call_ms, double& cpu_ms,
                         double& wait_ms) {
  task_context& ctx = co_await this_context();
  task_scope acceptor(ctx);
  task_scope conns(ctx);
  conn_hooks hooks;
  hooks.expect = count;
  conns.supervise([](const child_error&) {});
  acceptor.spawn(accept_loop(l, conns, hooks), "accept");
  co_await hooks.all_answered.wait();
  co_await acceptor.stop();
  co_await sleep_for(100ms);  // every connection task is back in its read
  if (const char* d = std::getenv("BENCH_CANCEL_DELAY_MS")) {
    co_await sleep_for(std::chrono::milliseconds(std::atol(d)));  // time to attach a profiler
  }
  const std::size_t blocked = conns.size();
  const double cpu0 = cpu_seconds();
  const double wait0 = runqueue_wait_seconds();
  const auto t0 = bench_clock::now();
  conns.cancel();
  cancel_call_ms = seconds_since(t0) * 1000.0;
  co_await conns.join();
  const double ms = seconds_since(t0) * 1000.0;
  cpu_ms = (cpu_seconds() - cpu0) * 1000.0;
  wait_ms = (runqueue_wait_seconds() - wait0) * 1000.0;
  if (blocked != count)
    throw error("bench: " + std::to_string(blocked) + " tasks, not the expected " +
                std::to_string(count));
  co_return ms;
}

int cancel(io_context& io, tcp_listener& l, std::size_t count) {
  std::printf("PORT %u\n", static_cast<unsigned>(l.local_endpoint().port()));
  std::fflush(stdout);
  const long rss_before = resident_bytes();
  double cancel_call_ms = 0;
  double cpu_ms = 0;
  double wait_ms = 0;
  const double ms = io.run(cancel_main(l, count, cancel_call_ms, cpu_ms, wait_ms));
  char extra[256];
  std::snprintf(extra, sizeof extra,
                "tasks=%zu cpu_ms=%.2f runq_wait_ms=%.2f cancel_call_ms=%.2f rss_kib=%ld "
                "open_fds_after=%zu",
                count, cpu_ms, wait_ms, cancel_call_ms, rss_before / 1024,
                io.registered_descriptors());
  print_result("cancel10k", "netaio", ms, "ms", extra);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string scenario = argc > 1 ? argv[1] : "";
  try {
    if (scenario == "rtt" || scenario == "oneway") {
      const double seconds = arg_or(argc, argv, 2, 2.0);
      self_destruct_after(static_cast<unsigned>(seconds) + 30);
      return scenario == "rtt" ? rtt(seconds) : oneway(seconds);
    }
    if (scenario == "server" || (scenario == "cancel" && argc == 4)) {
      raise_fd_limit();
      self_destruct_after(static_cast<unsigned>(arg_or(argc, argv, argc - 1, 60)));
      io_context io;
      tcp_listener l = listen(io);
      if (scenario == "server") return server(io, l);
      return cancel(io, l, static_cast<std::size_t>(std::atol(argv[2])));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_io_netaio: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: bench_io_netaio rtt|oneway SECONDS | server MAX_SECONDS | "
               "cancel CONNS MAX_SECONDS\n");
  return 2;
}
