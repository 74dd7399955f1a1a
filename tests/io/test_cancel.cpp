// Every operation is cancellable and completes at once when cancelled;
// closing an io_context ends every pending operation; nothing leaks.
#include <netaio/core.hpp>
#include <netaio/io.hpp>

#include <doctest/doctest.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "io/io_support.hpp"
#include "support/fd_count.hpp"
#include "support/io_run.hpp"

using namespace netaio;
using namespace std::chrono_literals;

using test::record;
namespace {

const endpoint local_v4 = endpoint::parse("127.0.0.1:0");

/// As record(), but a cancellation the scope did not ask for is an outcome,
/// not a failure of the scope.
template <class Op>
task<void> record_quietly(Op op, std::string& outcome) {
  try {
    co_await std::move(op);
    outcome = "done";
  } catch (const operation_cancelled&) {
    outcome = "cancelled";
  }
}

/// Starts `t` in a scope, waits until it blocks on I/O, cancels the scope,
/// and checks the task ended with cancellation without loop time passing.
task<void> cancel_while_pending(io_context& io, task<void> t, std::string& outcome) {
  task_scope scope{co_await this_context()};
  const std::size_t before = io.pending_operations();
  scope.spawn(std::move(t));
  co_await test::wait_until([&] { return io.pending_operations() == before + 1; });
  const auto at = io.now();
  scope.cancel();
  co_await scope.join();
  CHECK(io.now() == at);
  CHECK(outcome == "cancelled");
  CHECK(io.pending_operations() == before);
}

using test::connected_pair;

template <class Body>
void run_io(Body body) {
  test::run_io_checked(body);
}

}  // namespace

TEST_CASE("cancel accept") {
  run_io([](io_context& io) -> task<void> {
    auto l = tcp_listener::bind(io, local_v4);
    std::string outcome;
    co_await cancel_while_pending(io, record(l.accept(), outcome), outcome);
    // The listener still works afterwards.
    auto c = co_await tcp_stream::connect(io, l.local_endpoint());
    auto s = co_await l.accept();
    CHECK(s.remote_endpoint() == c.local_endpoint());
  });
}

TEST_CASE("cancel connect") {
  run_io([](io_context& io) -> task<void> {
    auto full = co_await test::make_full_listener(io);
    std::string outcome;
    co_await cancel_while_pending(
        io, record(tcp_stream::connect(io, full.listener.local_endpoint()), outcome), outcome);
  });
}

TEST_CASE("cancel read") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    std::array<char, 16> buf;
    std::string outcome;
    co_await cancel_while_pending(io, record(p.server.read_some(buf), outcome), outcome);
    co_await p.client.write_all(std::string_view("after"));
    CHECK(co_await p.server.read_some(buf) == 5);
  });
}

TEST_CASE("cancel write to a peer that never reads, once the send buffer is full") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    test::small_buffers(p.client.native_handle());
    test::small_buffers(p.server.native_handle());
    std::vector<std::uint8_t> big(8 << 20, 0x5a);
    std::string outcome;
    co_await cancel_while_pending(io, record(p.client.write_all(big), outcome), outcome);
    // The kernel took only a small prefix.
    CHECK(test::unread_bytes(p.server.native_handle()) < static_cast<int>(big.size()));
  });
}

TEST_CASE("cancel sleep") {
  run_io([](io_context& io) -> task<void> {
    std::string outcome;
    task_scope scope{co_await this_context()};
    scope.spawn(record(sleep_for(1h), outcome));
    co_await yield();
    const auto at = io.now();
    scope.cancel();
    co_await scope.join();
    CHECK(outcome == "cancelled");
    CHECK(io.now() == at);
  });
}

TEST_CASE("a cancelled read loses no bytes: 3 of 10 arrived, the next read sees them") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    std::string buf(10, '\0');
    std::string outcome;
    task_scope scope{co_await this_context()};
    scope.spawn(record(p.server.read_exact(buf), outcome));
    co_await test::wait_until([&] { return io.pending_operations() == 1; });
    const auto mark = test::mark_progress(io);
    co_await p.client.write_all(std::string_view("abc"));
    // Wait until the pending read has taken the 3 bytes from the kernel.
    co_await test::taken_by_read(io, p.client.native_handle(), p.server.native_handle(), mark);
    scope.cancel();
    co_await scope.join();
    CHECK(outcome == "cancelled");
    CHECK(p.server.buffered() == 3);
    // read_some hands them back first...
    std::array<char, 2> two;
    CHECK(co_await p.server.read_some(two) == 2);
    CHECK(std::string(two.data(), 2) == "ab");
    // ...and read_exact continues with the rest, then the kernel's bytes.
    co_await p.client.write_all(std::string_view("defghij"));
    std::string rest(8, '\0');
    co_await p.server.read_exact(rest);
    CHECK(rest == "cdefghij");
    CHECK(p.server.buffered() == 0);
  });
}

TEST_CASE("a cancelled read_exact's bytes also survive a second cancellation") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    std::string outcome;
    for (const char* part : {"ab", "cd"}) {
      std::string buf(10, '\0');
      task_scope scope{co_await this_context()};
      scope.spawn(record(p.server.read_exact(buf), outcome));
      co_await test::wait_until([&] { return io.pending_operations() == 1; });
      const auto mark = test::mark_progress(io);
      co_await p.client.write_all(std::string_view(part));
      co_await test::taken_by_read(io, p.client.native_handle(), p.server.native_handle(), mark);
      scope.cancel();
      co_await scope.join();
    }
    CHECK(p.server.buffered() == 4);
    co_await p.client.write_all(std::string_view("efghij"));
    std::string all(10, '\0');
    co_await p.server.read_exact(all);
    CHECK(all == "abcdefghij");
  });
}

TEST_CASE("an already-cancelled task does not start an operation") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    co_await p.client.write_all(std::string_view("data"));
    co_await test::wait_until([&] { return test::unread_bytes(p.server.native_handle()) == 4; });
    std::string outcome;
    task_scope scope{co_await this_context()};
    scope.cancel();
    std::array<char, 4> buf;
    scope.spawn(record(p.server.read_some(buf), outcome));
    co_await scope.join();
    CHECK(outcome == "cancelled");
    CHECK(test::unread_bytes(p.server.native_handle()) == 4);  // not consumed
  });
}

TEST_CASE("closing the io_context ends every pending operation with cancellation") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    auto full = co_await test::make_full_listener(io);
    test::small_buffers(p.client.native_handle());
    test::small_buffers(p.server.native_handle());
    std::vector<std::uint8_t> big(8 << 20);
    std::array<char, 8> rbuf;
    std::array<std::string, 4> outcomes;
    task_scope scope{co_await this_context()};
    scope.spawn(record_quietly(p.listener.accept(), outcomes[0]));
    scope.spawn(record_quietly(p.server.read_some(rbuf), outcomes[1]));
    scope.spawn(record_quietly(p.client.write_all(big), outcomes[2]));
    scope.spawn(
        record_quietly(tcp_stream::connect(io, full.listener.local_endpoint()), outcomes[3]));
    co_await test::wait_until([&] { return io.pending_operations() == 4; });
    io.close();
    CHECK(io.closed());
    CHECK(io.pending_operations() == 0);
    co_await scope.join();
    for (auto& o : outcomes)
      CHECK(o == "cancelled");
    // Later operations are refused the same way.
    CHECK_THROWS_AS(co_await p.server.read_some(rbuf), operation_cancelled);
    CHECK_THROWS_AS(co_await p.listener.accept(), operation_cancelled);
  });
}

TEST_CASE(
    "a task that catches the cancellation of operations on a closed io_context cannot starve the "
    "others") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    io.close();
    std::array<char, 8> rbuf;
    int refused = 0;
    int other_turns_while_refusing = 0;
    bool refusing = false;
    co_await with_scope([&](task_scope& s) -> task<void> {
      s.spawn([&]() -> task<void> {
        for (int i = 0; i < 1000; ++i) {
          try {
            (void)co_await p.server.read_some(rbuf);
          } catch (const operation_cancelled&) {
            refusing = true;
            ++refused;
          }
        }
        refusing = false;
      });
      s.spawn([&]() -> task<void> {
        for (int i = 0; i < 10000 && (refused == 0 || refusing); ++i) {
          co_await yield();
          if (refusing) ++other_turns_while_refusing;
        }
      });
      co_return;
    });
    CHECK(refused == 1000);
    CHECK(other_turns_while_refusing >= 999);  // one turn each, interleaved
  });
}

TEST_CASE("closing a socket under a pending operation ends it with io_error(closed)") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await connected_pair(io);
    std::array<char, 8> buf;
    std::string outcome;
    task_scope scope{co_await this_context()};
    scope.spawn(record(p.server.read_some(buf), outcome));
    co_await test::wait_until([&] { return io.pending_operations() == 1; });
    p.server.close();
    co_await scope.join();
    CHECK(outcome.find("closed") != std::string::npos);
  });
}

TEST_CASE("a server scope with many blocked connections stops at once and leaks nothing") {
  run_io([](io_context& io) -> task<void> {
    auto l = tcp_listener::bind(io, local_v4);
    int cancelled = 0;
    auto handler = [](tcp_stream s, int& count) -> task<void> {
      std::array<char, 16> buf;
      try {
        while (co_await s.read_some(buf) > 0) {
        }
      } catch (const operation_cancelled&) {
        ++count;
        throw;
      }
    };
    auto server = [&](task_scope& scope) -> task<void> {
      for (;;)
        scope.spawn(handler(co_await l.accept(), cancelled));
    };
    task_scope scope{co_await this_context()};
    scope.spawn(server(scope));
    std::vector<tcp_stream> clients;
    for (int i = 0; i < 50; ++i)
      clients.push_back(co_await tcp_stream::connect(io, l.local_endpoint()));
    co_await test::wait_until([&] { return io.pending_operations() == 51; });
    const auto at = io.now();
    co_await scope.stop(1s);
    CHECK(io.now() == at);
    CHECK(cancelled == 50);
    CHECK(io.pending_operations() == 0);
    CHECK(io.registered_descriptors() == 51);  // the listener and the 50 clients
  });
}
