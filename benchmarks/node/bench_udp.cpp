// Datagrams per second through a UDP node (echo: a client socket sends a
// REQUEST_URI, the node's handler answers, the client receives), with no
// plugins and with HMAC, beside the io layer's raw UDP echo of the same
// datagrams. One datagram in flight; client and node share one loop.
#include <benchmark/benchmark.h>
#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/node.hpp>
#include <netaio/plugins.hpp>

#include <array>
#include <cstdint>
#include <optional>

namespace {

using namespace netaio;

constexpr int batch = 1000;

message request_msg() {
  return message::prepare(body::prepare(byte_buffer(64, 7), as_bytes("echo")),
                          message_type::request_uri);
}

// `batch` round trips from `client` to `to`; `frame` makes each datagram.
template <class Frame>
task<void> round_trips(udp_socket& client, endpoint to, Frame frame) {
  std::array<std::uint8_t, 2048> buf;
  for (int i = 0; i < batch; ++i) {
    const byte_buffer f = frame();
    co_await client.send_to(f, to);
    (void)co_await client.receive_from(buf);
  }
}

void bm_raw_echo(benchmark::State& state) {
  io_context io;
  auto server = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
  auto client = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
  const byte_buffer frame = request_msg().encode();
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
    io.run(round_trips(client, server.local_endpoint(), [&] { return frame; }));
  io.run([&]() -> task<void> { co_await scope.stop(); }());
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(bm_raw_echo)->UseRealTime();

void run_node(benchmark::State& state, bool hmac) {
  io_context io;
  udp_node_options o;
  o.bind = endpoint::parse("127.0.0.1:0");
  o.join_multicast = false;
  if (hmac) o.plugins.auth = hmac_auth_plugin("secret");
  udp_node node(io, o);
  node.on(handler_key::of(message_type::request_uri, "echo"),
          [](message& m) { return message::prepare(m.body(), message_type::respond_uri); });
  node.start();
  auto client = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
  const message req = request_msg();
  const byte_buffer plain = req.encode();
  const hmac_auth_plugin auth("secret");
  auto frame = [&] {
    if (!hmac) return plain;
    message m = req;
    auth.make(m.auth_data(), m.body());
    return m.encode();
  };
  for (auto _ : state)
    io.run(round_trips(client, node.local_endpoint(), frame));
  io.run(node.stop());
  state.SetItemsProcessed(state.iterations() * batch);
}

void bm_node_echo(benchmark::State& state) {
  run_node(state, false);
}
BENCHMARK(bm_node_echo)->UseRealTime();

void bm_node_echo_hmac(benchmark::State& state) {
  run_node(state, true);
}
BENCHMARK(bm_node_echo_hmac)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
