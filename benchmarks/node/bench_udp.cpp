// Datagrams per second through a UDP node (echo: a client socket sends a
// REQUEST_URI, the node's handler answers, the client receives), with no
// plugins and with HMAC, beside the io layer's raw UDP echo of the same
// datagrams: the client sends the very same bytes in both (the plain frame,
// or the frame sealed once with HMAC), so node/io compares like with like.
// One datagram in flight; client and node share one loop.
// benchmarks/node/run_node.py runs it and prints the udp_ratios line.
#include <benchmark/benchmark.h>
#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/node.hpp>
#include <netaio/plugins.hpp>

#include <array>
#include <cstdint>
#include <span>

namespace {

using namespace netaio;

constexpr int batch = 1000;
constexpr const char* secret = "secret";

// The request the client sends, as bytes: plain, or sealed with HMAC (once:
// the node does not guard against replays unless asked, as the reference).
byte_buffer request_frame(bool hmac) {
  message m = message::prepare(body::prepare(byte_buffer(64, 7), as_bytes("echo")),
                               message_type::request_uri);
  if (hmac) hmac_auth_plugin(secret).make(m.auth_data(), m.body());
  return m.encode();
}

// `batch` round trips of `frame` from `client` to `to`.
task<void> round_trips(udp_socket& client, endpoint to, const byte_buffer& frame) {
  std::array<std::uint8_t, 2048> buf;
  for (int i = 0; i < batch; ++i) {
    co_await client.send_to(frame, to);
    (void)co_await client.receive_from(buf);
  }
}

// The io layer's echo: the datagram goes back as it came.
void bm_raw_echo(benchmark::State& state, bool hmac) {
  io_context io;
  auto server = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
  auto client = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
  const byte_buffer frame = request_frame(hmac);
  task_scope scope(io);
  scope.spawn(
      [&]() -> task<void> {
        std::array<std::uint8_t, 2048> buf;
        for (;;) {
          auto d = co_await server.receive_from(buf);
          co_await server.send_to(std::span(buf.data(), d.size), d.from);
        }
      },
      "raw echo");
  for (auto _ : state)
    io.run(round_trips(client, server.local_endpoint(), frame));
  io.run([&]() -> task<void> { co_await scope.stop(); }());
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["request_b"] = static_cast<double>(frame.size());
}
BENCHMARK_CAPTURE(bm_raw_echo, plain, false)->UseRealTime();
BENCHMARK_CAPTURE(bm_raw_echo, hmac, true)->UseRealTime();

enum class node_mode { plain, hmac, known_peer };

// The node: decode, the pipeline (HMAC check), the handler, the answer
// sealed (HMAC) and sent back. known_peer: no plugins, and the sender is in
// the node's peer table (an id and 64 bytes of data), as a managed peer is:
// each datagram's plugin context then carries it.
void bm_node_echo(benchmark::State& state, node_mode mode) {
  const bool hmac = mode == node_mode::hmac;
  io_context io;
  udp_node_options o;
  o.bind = endpoint::parse("127.0.0.1:0");
  o.join_multicast = false;
  if (hmac) o.plugins.auth = hmac_auth_plugin(secret);
  udp_node node(io, o);
  node.on(handler_key::of(message_type::request_uri, "echo"),
          [](message& m) { return message::prepare(m.body(), message_type::respond_uri); });
  node.start();
  auto client = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
  if (mode == node_mode::known_peer)
    node.peers().add_or_update(byte_buffer(32, 1), byte_buffer(64, 2),
                               to_peer_address(client.local_endpoint()), 0);
  const byte_buffer frame = request_frame(hmac);
  for (auto _ : state)
    io.run(round_trips(client, node.local_endpoint(), frame));
  io.run(node.stop());
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["request_b"] = static_cast<double>(frame.size());
}
BENCHMARK_CAPTURE(bm_node_echo, plain, node_mode::plain)->UseRealTime();
BENCHMARK_CAPTURE(bm_node_echo, hmac, node_mode::hmac)->UseRealTime();
BENCHMARK_CAPTURE(bm_node_echo, known_peer, node_mode::known_peer)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
