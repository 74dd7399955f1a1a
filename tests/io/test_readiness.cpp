// Readiness tracking of stream sockets: after a short read (or a short
// write) an operation waits for the next epoll edge instead of making a
// syscall that would fail. These tests check that no data and no wake-up is
// ever lost that way. They run on a virtual clock, so a read that would
// hang forever instead times out at once and fails the test. On IOCP, which
// has no readiness, the same cases check the same outcomes (no data and no
// wake-up lost) through completions; the one about a dup'ed descriptor's
// readiness events is POSIX only.
#include <netaio/core.hpp>
#include <netaio/io.hpp>

#include <doctest/doctest.h>
#if !defined(_WIN32)
#include <unistd.h>  // dup
#endif

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "io/io_support.hpp"

using namespace netaio;
using namespace std::chrono_literals;

namespace {

const endpoint local_v4 = endpoint::parse("127.0.0.1:0");

template <class F>
void run_io(F&& body) {
  io_context io({.virtual_time = true});
  io.run(body(io));
}

struct stream_pair {
  tcp_stream client;
  tcp_stream server;
};

task<stream_pair> connect_pair(io_context& io) {
  auto l = tcp_listener::bind(io, local_v4);
  stream_pair p;
  p.client = co_await tcp_stream::connect(io, l.local_endpoint());
  p.server = co_await l.accept();
  co_return p;
}

task<std::size_t> read_some_of(tcp_stream& s, std::span<std::uint8_t> buf) {
  co_return co_await s.read_some(buf);
}

task<void> read_exact_of(tcp_stream& s, std::span<std::uint8_t> buf) {
  co_await s.read_exact(buf);
}

/// read_some that must finish within `limit` of loop time (a lost edge
/// would make it wait forever; on the virtual clock that is a timed_out).
task<std::size_t> read_within(tcp_stream& s, std::span<std::uint8_t> buf,
                              std::chrono::nanoseconds limit = 10s) {
  co_return co_await with_timeout(limit, read_some_of(s, buf));
}

/// Lets the loop poll I/O many times, so that readiness edges are taken
/// from epoll while nobody waits on the socket.
task<void> let_loop_poll() {
  for (int i = 0; i < 256; ++i)
    co_await yield();
}

std::string text(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace

TEST_CASE("data that arrives between two reads, with no read waiting, is never missed") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connect_pair(io);
    tcp_stream& c = p.client;
    tcp_stream& s = p.server;
    std::array<std::uint8_t, 100> buf{};
    co_await c.write_all(std::string_view("abc"));
    co_await test::wait_until([&] { return test::unread_bytes(s.native_handle()) == 3; });
    CHECK(co_await read_within(s, buf) == 3);  // short: the queue is drained
    CHECK(text(std::span(buf.data(), 3)) == "abc");

    // The next data's edge is taken by the loop while no read is pending.
    co_await c.write_all(std::string_view("defg"));
    co_await test::wait_until([&] { return test::unread_bytes(s.native_handle()) == 4; });
    co_await let_loop_poll();
    CHECK(co_await read_within(s, buf) == 4);
    CHECK(text(std::span(buf.data(), 4)) == "defg");

    // Same when the edge is taken before the short read consumed the data
    // it announced, and more comes later.
    co_await c.write_all(std::string_view("hi"));
    co_await let_loop_poll();
    CHECK(co_await read_within(s, buf) == 2);
    co_await c.write_all(std::string_view("jk"));
    CHECK(co_await read_within(s, buf) == 2);
    CHECK(text(std::span(buf.data(), 2)) == "jk");
  });
}

TEST_CASE("a read after EAGAIN resumes when data comes") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connect_pair(io);
    tcp_stream& c = p.client;
    tcp_stream& s = p.server;
    std::array<std::uint8_t, 16> buf{};
    // Nothing there: the read tries, gets EAGAIN, and waits.
    task_scope scope{co_await this_context()};
    std::size_t got = 0;
    scope.spawn([](tcp_stream& st, std::span<std::uint8_t> b, std::size_t& n) -> task<void> {
      n = co_await read_within(st, b, 60s);
    }(s, buf, got));
    co_await sleep_for(5s);
    CHECK(got == 0);
    co_await c.write_all(std::string_view("late"));
    co_await scope.join();
    CHECK(got == 4);
    CHECK(text(std::span(buf.data(), 4)) == "late");
    // A read that exactly fills its buffer leaves the socket "maybe
    // readable": the next read asks the kernel, gets EAGAIN, and waits.
    co_await c.write_all(std::string_view("0123456789abcdef"));
    CHECK(co_await read_within(s, buf) == 16);
    scope.spawn([](tcp_stream& st, std::span<std::uint8_t> b, std::size_t& n) -> task<void> {
      n = co_await read_within(st, b, 60s);
    }(s, buf, got));
    co_await sleep_for(1s);
    co_await c.write_all(std::string_view("z"));
    co_await scope.join();
    CHECK(got == 1);
    CHECK(buf[0] == 'z');
  });
}

TEST_CASE("many small frames in a row, read with read_exact and read_some") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connect_pair(io);
    tcp_stream& c = p.client;
    tcp_stream& s = p.server;
    constexpr int frames = 2000;
    auto frame = [](int i) {
      std::vector<std::uint8_t> f(1 + static_cast<std::size_t>(i % 23));
      for (std::size_t k = 0; k < f.size(); ++k)
        f[k] = static_cast<std::uint8_t>(i * 31 + static_cast<int>(k));
      return f;
    };
    task_scope scope{co_await this_context()};
    scope.spawn([](tcp_stream& st, auto make) -> task<void> {
      for (int i = 0; i < frames; ++i) {
        co_await st.write_all(make(i));
        if (i % 7 == 0) co_await yield();  // sometimes the reader drains in between
      }
      st.shutdown(shutdown_how::send);
    }(c, frame));
    // First half framed exactly (short reads split the frames), second half
    // in odd-sized chunks.
    for (int i = 0; i < frames / 2; ++i) {
      std::vector<std::uint8_t> want = frame(i);
      std::vector<std::uint8_t> got(want.size());
      CAPTURE(i);
      co_await with_timeout(10s, read_exact_of(s, got));
      REQUIRE(got == want);
    }
    std::vector<std::uint8_t> expected;
    for (int i = frames / 2; i < frames; ++i) {
      auto f = frame(i);
      expected.insert(expected.end(), f.begin(), f.end());
    }
    std::vector<std::uint8_t> rest;
    std::array<std::uint8_t, 37> chunk{};
    for (;;) {
      CAPTURE(rest.size());
      std::size_t n = co_await read_within(s, chunk);
      if (n == 0) break;
      rest.insert(rest.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    }
    CHECK(rest == expected);
    co_await scope.join();
  });
}

TEST_CASE("read_exact across several edges, one byte at a time") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connect_pair(io);
    tcp_stream& c = p.client;
    tcp_stream& s = p.server;
    std::array<std::uint8_t, 9> buf{};
    task_scope scope{co_await this_context()};
    scope.spawn([](tcp_stream& st, std::span<std::uint8_t> b) -> task<void> {
      co_await with_timeout(60s, read_exact_of(st, b));
    }(s, buf));
    const std::string_view msg = "123456789";
    for (char ch : msg) {
      co_await sleep_for(1s);
      co_await c.write_all(std::string_view(&ch, 1));
    }
    co_await scope.join();
    CHECK(text(buf) == msg);
  });
}

TEST_CASE("a write after a short write resumes when the peer drains") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connect_pair(io);
    tcp_stream& c = p.client;
    tcp_stream& s = p.server;
    // A small send buffer makes the writes short and often; the receive
    // buffer stays large (a tiny one makes the kernel fall back on its own
    // slow window probes).
    test::set_option(c.native_handle(), SOL_SOCKET, SO_SNDBUF, 4096);
    std::vector<std::uint8_t> big(1 << 20);
    for (std::size_t i = 0; i < big.size(); ++i)
      big[i] = static_cast<std::uint8_t>(i * 13 + (i >> 9));
    task_scope scope{co_await this_context()};
    bool written = false;
    scope.spawn([](tcp_stream& st, std::span<const std::uint8_t> b, bool& done) -> task<void> {
      co_await st.write_all(b);  // fills the buffers, waits for room again and again
      // Then write_some after the buffers were full once more.
      std::array<std::uint8_t, 3> tail{7, 8, 9};
      std::size_t off = 0;
      while (off < tail.size())
        off += co_await st.write_some(std::span(tail).subspan(off));
      done = true;
    }(c, big, written));
    co_await sleep_for(1s);  // the writer is blocked on a full buffer
    CHECK(!written);
    // No deadline on these reads: the kernel may take its own (real) time to
    // reopen a closed window, which a virtual clock would skip past.
    std::vector<std::uint8_t> got(big.size() + 3);
    std::size_t have = 0;
    while (have < got.size()) {
      const std::size_t n = co_await s.read_some(std::span(got).subspan(have));
      REQUIRE(n > 0);
      have += n;
    }
    co_await scope.join();
    CHECK(written);
    CHECK(std::equal(big.begin(), big.end(), got.begin()));
    CHECK(got[big.size()] == 7);
    CHECK(got[big.size() + 2] == 9);
  });
}

TEST_CASE("shutdown(receive) after a short read: the next read sees end of stream") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connect_pair(io);
    tcp_stream& c = p.client;
    tcp_stream& s = p.server;
    std::array<std::uint8_t, 16> buf{};
    co_await c.write_all(std::string_view("x"));
    CHECK(co_await read_within(s, buf) == 1);  // short: not readable any more
    s.shutdown(shutdown_how::receive);
    CHECK(co_await read_within(s, buf) == 0);
  });
}

TEST_CASE("a closed socket kept open by a dup: its events are ignored, its slot is reused") {
#if defined(_WIN32)
  MESSAGE("skipped on Windows: a socket has no dup() there, and IOCP has no readiness events");
#else
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connect_pair(io);
    int kept = -1;
    {
      tcp_stream s = std::move(p.server);
      kept = ::dup(s.native_handle());
      REQUIRE(kept >= 0);
    }  // closed and destroyed; the dup keeps the socket and its epoll registration
    // (kqueue drops a descriptor's events at close, libkqueue by EV_DELETE:
    // there the test shows the slot's reuse, with no stale events to ignore)
    CHECK(io.registered_descriptors() == 1);
    auto q = co_await connect_pair(io);  // takes the freed slot
    // Events for the old registration (data, then end of stream) must not
    // reach the freed state or the new socket.
    co_await p.client.write_all(std::string_view("stale"));
    co_await let_loop_poll();
    p.client.close();
    co_await let_loop_poll();
    std::array<std::uint8_t, 8> buf{};
    co_await q.client.write_all(std::string_view("fresh"));
    CHECK(co_await read_within(q.server, buf) == 5);
    CHECK(text(std::span(buf.data(), 5)) == "fresh");
    char old[8] = {};
    CHECK(::recv(kept, old, sizeof old, 0) == 5);  // the data went to the dup
    ::close(kept);
  });
#endif
}
