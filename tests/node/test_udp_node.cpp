// The UDP node: handlers and answers, send, multicast, broadcast, notify,
// request and its timeout, bad datagrams, stop.
#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/node.hpp>
#include <netaio/plugins.hpp>

#include <doctest/doctest.h>

#include <array>
#include <string>

#include "node/udp_support.hpp"
#include "support/io_run.hpp"

using namespace netaio;
using namespace std::chrono_literals;
using namespace node_test;

namespace {

message answer_with(message_type t, std::string_view uri, const message& m) {
  return make(t, uri, content_of(m));
}

}  // namespace

TEST_CASE("echo: a handler's answer goes back to the datagram's sender") {
  log_capture la, lb;
  test::run_io_checked([&](io_context& io) -> task<void> {
    udp_node a(io, loopback(la)), b(io, loopback(lb));
    a.start();
    b.start();
    co_await then_stop(
        [&]() -> task<void> {
          std::optional<peer_address> seen;
          b.on(handler_key::of(message_type::request_uri, "echo"), [&](message& m, udp_sender& s) {
            seen = s.address;
            return answer_with(message_type::respond_uri, "echo", m);
          });
          udp_node::request_options hello;
          hello.content = to_buffer(as_bytes("hello"));
          message got = co_await a.request("echo", b.local_endpoint(), hello);
          CHECK(got.type() == message_type::respond_uri);
          CHECK(content_of(got) == "hello");
          CHECK(seen == to_peer_address(a.local_endpoint()));
          // No handler: the default answers NOT_FOUND, which request returns.
          udp_node::request_options plain;
          message none = co_await a.request("nothing", b.local_endpoint(), plain);
          CHECK(none.type() == message_type::not_found);
          CHECK(a.router().size() == 0);  // the request's one-shot handlers are gone
        }(),
        a, b);
  });
}
