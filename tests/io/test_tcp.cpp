#include <netaio/core.hpp>
#include <netaio/io.hpp>

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "support/fd_count.hpp"

using namespace netaio;
using namespace std::chrono_literals;

namespace {

const endpoint any_local = endpoint::parse("127.0.0.1:0");

task<void> echo_one(tcp_stream s) {
  std::array<std::uint8_t, 4096> buf;
  for (;;) {
    std::size_t n = co_await s.read_some(buf);
    if (n == 0) break;
    co_await s.write_all(std::span(buf.data(), n));
  }
}

task<void> echo_server(tcp_listener& l, int connections) {
  task_scope scope{co_await this_context()};
  for (int i = 0; i < connections; ++i)
    scope.spawn(echo_one(co_await l.accept()));
  co_await scope.join();
}

}  // namespace

TEST_CASE("echo server and client in one process") {
  io_context io({.virtual_time = true});
  test::fd_baseline fds;
  auto body = [&]() -> task<std::string> {
    auto l = tcp_listener::bind(io, any_local);
    CHECK(l.local_endpoint().port() != 0);
    task_scope scope{co_await this_context()};
    scope.spawn(echo_server(l, 1));
    auto c = co_await tcp_stream::connect(io, l.local_endpoint());
    CHECK(c.remote_endpoint() == l.local_endpoint());
    co_await c.write_all(std::string_view("hello, world"));
    std::string got(12, '\0');
    co_await c.read_exact(got);
    c.shutdown();
    std::array<char, 8> rest;
    CHECK(co_await c.read_some(rest) == 0);
    co_await scope.join();
    co_return got;
  };
  CHECK(io.run(body()) == "hello, world");
  CHECK(io.registered_descriptors() == 0);
  CHECK(fds.delta() == 0);
}
