// What completion-based backends (io_uring) must also get right, run on
// every backend: the kernel owns a submitted operation's buffer until it
// reports, so cancellation, close and frame destruction must wait for that
// report (or reap it) without losing bytes, leaking descriptors or letting
// the kernel write into freed memory. On readiness backends these are
// ordinary cancellation cases and pass the same way.
#include <netaio/core.hpp>
#include <netaio/io.hpp>

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "io/io_support.hpp"
#include "support/io_run.hpp"

using namespace netaio;
using namespace std::chrono_literals;

namespace {

using test::connected_pair;

/// Lets the loop wait once (virtual time: no time passes for the test),
/// which is when io_uring submits what the tasks queued.
task<void> let_the_loop_submit() {
  co_await sleep_for(1ms);
}

void send_raw(const tcp_stream& to_peer_of, const char* text, std::size_t n) {
#if defined(_WIN32)
  // (A blocking send: IOCP's sockets are in blocking mode; a few bytes on
  // loopback never block.)
  REQUIRE(::send(to_peer_of.native_handle(), text, static_cast<int>(n), 0) == static_cast<int>(n));
#else
  REQUIRE(::send(to_peer_of.native_handle(), text, n, MSG_NOSIGNAL) == static_cast<ssize_t>(n));
#endif
}

enum class read_kind { some, exact, into };

/// A sink for read_into that wants `want` bytes.
struct counted_sink {
  std::vector<std::uint8_t> data;
  std::size_t want = 0;
  std::span<std::uint8_t> prepare() noexcept {
    if (data.size() >= want) return {};
    room.resize(want - data.size());
    return room;
  }
  bool commit(std::size_t n) noexcept {
    data.insert(data.end(), room.begin(), room.begin() + static_cast<std::ptrdiff_t>(n));
    return n == 0 || data.size() >= want;
  }
  std::vector<std::uint8_t> room;
};

/// Reads with `kind` into `buf` (read_into: into `sink`); records the outcome
/// and what it got.
task<void> read_once(tcp_stream& s, read_kind kind, std::array<std::uint8_t, 5>& buf,
                     counted_sink& sink, std::string& got, std::string& outcome) {
  try {
    if (kind == read_kind::some) {
      const std::size_t n = co_await s.read_some(buf);
      got.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    } else if (kind == read_kind::exact) {
      co_await s.read_exact(buf);
      got.assign(buf.begin(), buf.end());
    } else {
      co_await s.read_into(sink);
    }
    outcome = "done";
  } catch (const operation_cancelled&) {
    outcome = "cancelled";
  }
}

/// Everything the stream still holds, up to end of stream.
task<std::string> read_to_end(tcp_stream& s) {
  std::string all;
  std::array<std::uint8_t, 64> buf{};
  for (;;) {
    const std::size_t n = co_await with_timeout(1s, s.read_some(buf));
    if (n == 0) co_return all;
    all.append(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

/// A read whose buffer lives in its own frame, shielded so that a stop
/// cannot cancel it: only the end of the grace period ends it, by
/// destroying the frame with the read in flight.
task<void> read_in_own_frame(tcp_stream& s) {
  std::array<std::uint8_t, 64> buf{};
  (void)co_await s.read_some(buf);
}
task<void> stuck_reader(tcp_stream& s) {
  co_await shield(std::chrono::hours(24), read_in_own_frame(s));
}
task<void> write_in_own_frame(tcp_stream& s) {
  std::vector<std::uint8_t> big(4 << 20, 0x5a);
  co_await s.write_all(big);
}
task<void> stuck_writer(tcp_stream& s) {
  co_await shield(std::chrono::hours(24), write_in_own_frame(s));
}

task<void> nap(std::chrono::seconds d) {
  co_await sleep_for(d);
}

task<void> write_everything(tcp_stream& s, const std::vector<std::uint8_t>& data) {
  co_await s.write_all(data);
}

/// One byte, if there is room within 1 ms; records how it went.
task<void> try_write_one(tcp_stream& s, std::string& outcome) {
  const std::uint8_t one = 1;
  try {
    co_await with_timeout(1ms, s.write_some(std::span<const std::uint8_t>(&one, 1)));
    outcome = "done";
  } catch (const timed_out&) {
    outcome = "timed out";
  } catch (const std::exception& e) {
    outcome = e.what();  // "another task is already writing" if the slot were still taken
  }
}

}  // namespace

TEST_CASE("a read cancelled while its data arrives loses no byte") {
  for (read_kind kind : {read_kind::some, read_kind::exact, read_kind::into}) {
    CAPTURE(static_cast<int>(kind));
    test::run_io_checked([kind](io_context& io) -> task<void> {
      auto p = co_await connected_pair(io);
      std::array<std::uint8_t, 5> buf{};
      counted_sink sink;
      sink.want = 5;
      std::string got, outcome;
      {
        task_scope scope{co_await this_context()};
        scope.spawn(read_once(p.server, kind, buf, sink, got, outcome));
        co_await test::wait_until([&] { return io.pending_operations() == 1; });
        co_await let_the_loop_submit();  // io_uring: the receive is in the kernel now
        // The data lands in the kernel's receive (or the socket) before the
        // loop has seen it, and the cancellation comes in the same turn.
        send_raw(p.client, "hello", 5);
        scope.cancel();
        co_await scope.join();
      }
      CHECK(io.pending_operations() == 0);
      p.client.shutdown();
      const std::string rest = co_await read_to_end(p.server);
      const std::string in_sink(sink.data.begin(), sink.data.end());
      // However the race went, every byte is somewhere the caller can see.
      if (outcome == "done") {
        CHECK(got + in_sink + rest == "hello");
      } else {
        CHECK(outcome == "cancelled");
        CHECK(in_sink + rest == "hello");
      }
    });
  }
}

TEST_CASE("a frame destroyed with its read in flight: the read ends, later bytes are not stolen") {
  test::run_io_checked([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    {
      task_scope scope{co_await this_context()};
      scope.spawn(stuck_reader(p.server), "stuck reader");
      co_await test::wait_until([&] { return io.pending_operations() == 1; });
      co_await let_the_loop_submit();
      co_await scope.stop(1s);  // the grace ends: the frame is destroyed
    }
    CHECK(io.pending_operations() == 0);
    // A receive left in the kernel would take these bytes (into freed memory).
    send_raw(p.client, "abc", 3);
    std::array<std::uint8_t, 3> buf{};
    co_await with_timeout(1s, p.server.read_exact(buf));
    CHECK(std::string(buf.begin(), buf.end()) == "abc");
  });
}

TEST_CASE("a frame destroyed with its write in flight: the write ends, the stream stays usable") {
  test::run_io_checked([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    test::small_buffers(p.client.native_handle());
    test::small_buffers(p.server.native_handle());
    {
      task_scope scope{co_await this_context()};
      scope.spawn(stuck_writer(p.client), "stuck writer");
      co_await test::wait_until([&] { return io.pending_operations() == 1; });
      co_await let_the_loop_submit();
      co_await scope.stop(1s);
    }
    CHECK(io.pending_operations() == 0);
    // The stream's framing is lost (a prefix was sent), but its write slot
    // is free again and it closes cleanly. (Its peer is not drained here:
    // under virtual time, TCP's own timers would not keep up.)
    std::string outcome;
    co_await try_write_one(p.client, outcome);
    CHECK((outcome == "done" || outcome == "timed out"));
    p.client.close();
    co_await let_the_loop_submit();  // a report for a forgotten op would come now
  });
}

TEST_CASE("closing a socket with a pending read ends the read and really closes the socket") {
  test::run_io_checked([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    std::string outcome;
    std::array<std::uint8_t, 16> buf{};
    {
      task_scope scope{co_await this_context()};
      scope.spawn(test::record(p.server.read_some(buf), outcome));
      co_await test::wait_until([&] { return io.pending_operations() == 1; });
      co_await let_the_loop_submit();
      p.server.close();
      co_await scope.join();
    }
    CHECK(outcome.find("closed") != std::string::npos);
    CHECK(io.pending_operations() == 0);
    // close(2) alone would not end an io_uring receive, which holds the
    // socket open: the peer would never see the end of the stream.
    const std::size_t n = co_await with_timeout(1s, p.client.read_some(buf));
    CHECK(n == 0);
  });
}

TEST_CASE("closing the io_context with reads, writes and an accept in flight") {
  test::run_io_checked([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    test::small_buffers(p.client.native_handle());
    test::small_buffers(p.server.native_handle());
    std::string read_outcome, write_outcome, accept_outcome;
    std::array<std::uint8_t, 16> buf{};
    std::vector<std::uint8_t> big(4 << 20, 1);
    {
      task_scope scope{co_await this_context()};
      scope.spawn(test::record(p.server.read_some(buf), read_outcome));
      scope.spawn(test::record(p.server.write_all(big), write_outcome));  // the client never reads
      scope.spawn(test::record(p.listener.accept(), accept_outcome));
      co_await test::wait_until([&] { return io.pending_operations() == 3; });
      co_await let_the_loop_submit();
      io.close();
      try {
        co_await scope.join();
      } catch (const operation_cancelled&) {
      }
    }
    CHECK(read_outcome == "cancelled");
    CHECK(write_outcome == "cancelled");
    CHECK(accept_outcome == "cancelled");
    CHECK(io.pending_operations() == 0);
    CHECK(io.closed());
  });
}

TEST_CASE("contexts whose reads were cancelled in the kernel leave no descriptor behind") {
  // Many contexts, each with a read submitted and then cancelled: the ring
  // (or epoll set) and every socket go with the context.
  test::fd_baseline fds;
  for (int i = 0; i < 20; ++i) {
    io_context io({.virtual_time = true});
    io.run([](io_context& io) -> task<void> {
      auto p = co_await connected_pair(io);
      std::string outcome;
      std::array<std::uint8_t, 16> buf{};
      task_scope scope{co_await this_context()};
      scope.spawn(test::record(p.server.read_some(buf), outcome));
      co_await test::wait_until([&] { return io.pending_operations() == 1; });
      co_await let_the_loop_submit();
      scope.cancel();
      try {
        co_await scope.join();
      } catch (const operation_cancelled&) {
      }
    }(io));
  }
  CHECK(fds.delta() == 0);
}

TEST_CASE(
    "a transfer larger than the socket buffers takes no virtual time: partial progress is "
    "progress") {
  // The read and the write each take many steps: each partial one submits
  // the rest (completion backends) or waits for the next edge (readiness
  // backends, as TCP's window updates come in). A loop that took such a
  // turn for an idle one would jump its virtual clock to the next timer
  // while the transfer is under way.
  test::run_io_checked([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    std::vector<std::uint8_t> out(8 << 20);  // several times what the socket buffers hold
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<std::uint8_t>(i * 7);
    std::vector<std::uint8_t> in(out.size());
    const auto t0 = io.now();
    task_scope scope{co_await this_context()};
    scope.spawn(nap(10s));  // a timer for the clock to jump to
    scope.spawn(write_everything(p.client, out));
    co_await p.server.read_exact(in);
    // Virtual nanoseconds the transfer took: none (the nap's 10 s would show).
    CHECK(std::chrono::nanoseconds(io.now() - t0).count() == 0);
    CHECK(in == out);
    scope.cancel();
    co_await scope.join();
  });
}

TEST_CASE("the backend is the one asked for") {
#if NETAIO_HAS_IO_URING
  CHECK(std::string(io_context::backend_name()) == "io_uring");
#elif NETAIO_HAS_EPOLL
  CHECK(std::string(io_context::backend_name()) == "epoll");
#elif NETAIO_HAS_KQUEUE
  CHECK(std::string(io_context::backend_name()) == "kqueue");
#elif NETAIO_HAS_IOCP
  CHECK(std::string(io_context::backend_name()) == "iocp");
#endif
}
