// The scenarios on standalone Asio with C++20 coroutines, written as well as
// we can: single-threaded io_contexts (concurrency hint 1), errors as values
// (as_tuple, no exceptions on the hot path), speculative reads, the same
// buffering as the others (a large buffer parsed in place, every frame of a
// read answered in one write).
//
//   bench_io_asio rtt SECONDS       round trips per second, one connection
//   bench_io_asio oneway SECONDS    one-way frames per second, one connection
//   bench_io_asio server MAX_SECONDS
//     the server of the many-connection scenario: prints "PORT n", answers
//     every frame, and exits once every connection it had is closed.
#include "common.hpp"

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace netaio_bench;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// A failure inside a coroutine leaves io_context::run() by an exception.
void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

const std::vector<unsigned char>& replies() {
  static const std::vector<unsigned char> v = make_frames(big_buffer / frame_size + 1, 2);
  return v;
}

// Answers every complete frame with one frame, one write per read.
asio::awaitable<void> echo(tcp::socket s, std::size_t buffer_size) {
  frame_buffer buf(buffer_size);
  const unsigned char* out = replies().data();
  for (;;) {
    auto [ec, n] =
        co_await s.async_read_some(asio::buffer(buf.space(), buf.space_size()), use_tuple);
    if (ec) break;
    const std::uint64_t frames = buf.commit(n);
    if (frames != 0) {
      auto [wec, w] =
          co_await asio::async_write(s, asio::buffer(out, frames * frame_size), use_tuple);
      if (wec) break;
    }
  }
}

tcp::acceptor make_acceptor(asio::io_context& io) {
  tcp::acceptor a(io);
  const tcp::endpoint ep(asio::ip::address_v4::loopback(), 0);
  a.open(ep.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));
  a.bind(ep);
  a.listen(asio::socket_base::max_listen_connections);
  return a;
}

tcp::socket connect(asio::io_context& io, std::uint16_t port) {
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  s.set_option(tcp::no_delay(true));
  return s;
}

int rtt(double seconds) {
  asio::io_context server_io(1);
  tcp::acceptor acceptor = make_acceptor(server_io);
  const auto port = acceptor.local_endpoint().port();
  asio::co_spawn(
      server_io,
      [&]() -> asio::awaitable<void> {
        auto [ec, s] = co_await acceptor.async_accept(use_tuple);
        acceptor.close();
        if (ec) co_return;
        s.set_option(tcp::no_delay(true));
        co_await echo(std::move(s), big_buffer);
      },
      rethrow);
  std::thread server([&] { server_io.run(); });

  asio::io_context io(1);
  std::uint64_t count = 0;
  double elapsed = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket s = connect(io, port);
        const std::vector<unsigned char> request = make_frames(1);
        frame_buffer buf(big_buffer);
        auto round_trip = [&]() -> asio::awaitable<void> {
          auto [wec, w] = co_await asio::async_write(s, asio::buffer(request), use_tuple);
          if (wec) throw std::system_error(wec);
          std::uint64_t got = 0;
          while (got == 0) {
            auto [ec, n] =
                co_await s.async_read_some(asio::buffer(buf.space(), buf.space_size()), use_tuple);
            if (ec) throw std::system_error(ec);
            got = buf.commit(n);
          }
        };
        for (int i = 0; i < 2000; ++i)
          co_await round_trip();
        const auto t0 = bench_clock::now();
        const auto end = t0 + std::chrono::duration<double>(seconds);
        while (bench_clock::now() < end) {
          for (int i = 0; i < 64; ++i)
            co_await round_trip();
          count += 64;
        }
        elapsed = seconds_since(t0);
      },
      rethrow);
  io.run();
  server.join();
  print_result("rtt", "asio", static_cast<double>(count) / elapsed, "rtt/s",
               "count=" + std::to_string(count));
  return 0;
}

int oneway(double seconds) {
  asio::io_context server_io(1);
  tcp::acceptor acceptor = make_acceptor(server_io);
  const auto port = acceptor.local_endpoint().port();
  std::uint64_t received = 0;
  double elapsed = 0;
  asio::co_spawn(
      server_io,
      [&]() -> asio::awaitable<void> {
        auto [aec, s] = co_await acceptor.async_accept(use_tuple);
        acceptor.close();
        if (aec) co_return;
        frame_buffer buf(big_buffer);
        auto [ec, n] =
            co_await s.async_read_some(asio::buffer(buf.space(), buf.space_size()), use_tuple);
        const auto t0 = bench_clock::now();
        while (!ec) {
          received += buf.commit(n);
          std::tie(ec, n) =
              co_await s.async_read_some(asio::buffer(buf.space(), buf.space_size()), use_tuple);
        }
        elapsed = seconds_since(t0);
      },
      rethrow);
  std::thread receiver([&] { server_io.run(); });

  asio::io_context io(1);
  std::uint64_t sent = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket s = connect(io, port);
        const std::vector<unsigned char> batch = make_frames(batch_frames);
        const auto end = bench_clock::now() + std::chrono::duration<double>(seconds);
        while (bench_clock::now() < end) {
          auto [ec, w] = co_await asio::async_write(s, asio::buffer(batch), use_tuple);
          if (ec) throw std::system_error(ec);
          sent += batch_frames;
        }
        s.shutdown(tcp::socket::shutdown_send);
        // Keep the socket until the receiver has read everything.
        char c;
        co_await s.async_read_some(asio::buffer(&c, 1), use_tuple);
      },
      rethrow);
  io.run();
  receiver.join();
  if (received != sent) {
    std::fprintf(stderr, "bench_io_asio: sent %llu frames, received %llu\n",
                 static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received));
    return 1;
  }
  print_result("oneway", "asio", static_cast<double>(received) / elapsed, "frames/s",
               "count=" + std::to_string(received));
  return 0;
}

int server() {
  asio::io_context io(1);
  tcp::acceptor acceptor = make_acceptor(io);
  std::printf("PORT %u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stdout);
  std::size_t live = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, s] = co_await acceptor.async_accept(use_tuple);
          if (ec) co_return;
          s.set_option(tcp::no_delay(true));
          ++live;
          asio::co_spawn(io, echo(std::move(s), conn_buffer), [&](std::exception_ptr) {
            // The last connection gone: the run is over.
            if (--live == 0) acceptor.close();
          });
        }
      },
      rethrow);
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string scenario = argc > 1 ? argv[1] : "";
  const double seconds = arg_or(argc, argv, 2, 2.0);
  try {
    if (scenario == "rtt") {
      self_destruct_after(static_cast<unsigned>(seconds) + 30);
      return rtt(seconds);
    }
    if (scenario == "oneway") {
      self_destruct_after(static_cast<unsigned>(seconds) + 30);
      return oneway(seconds);
    }
    if (scenario == "server") {
      raise_fd_limit();
      self_destruct_after(static_cast<unsigned>(seconds));
      return server();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_io_asio: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: bench_io_asio rtt|oneway SECONDS | server MAX_SECONDS\n");
  return 2;
}
