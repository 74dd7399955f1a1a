// The reference README's UDP echo node, in C++.
//
//   udp_echo                      # 0.0.0.0:8888, broadcasts to the peers it discovers
//   udp_echo 127.0.0.1:8889 127.0.0.1:8888   # a second node on this host, sending to the first
//
// Each node answers REQUEST_URI with OK carrying the same body, and logs the
// OKs it gets back. Ctrl-C stops it (DISCONNECT to its peers, then exit).
#include <netaio/netaio.hpp>

#include <sodium.h>

#include <csignal>
#include <cstdio>
#include <optional>
#include <string>

using namespace netaio;
using namespace std::chrono_literals;

namespace {

task<void> run_node(io_context& io, endpoint local, std::optional<endpoint> remote) {
  peer me;
  me.id = byte_buffer(16);
  randombytes_buf(me.id->data(), me.id->size());
  me.data = byte_buffer{};

  udp_node_options opts;
  opts.bind = local;
  opts.local_peer = me;
  opts.plugins.auth = hmac_auth_plugin("test");
  opts.log.set_level(log_level::info);
  udp_node node(io, std::move(opts));

  node.on(handler_key::of(message_type::request_uri), [&](message& m, udp_sender& from) {
    node.log().info(from.address, "sending echo");
    return message::prepare(m.body(), message_type::ok);
  });
  node.on(handler_key::of(message_type::ok),
          [&](message&, udp_sender& from) { node.log().info(from.address, "received echo"); });

  node.start();
  udp_node::peer_management_options pm;
  pm.advertise_every = 1s;
  pm.peer_timeout = 3s;
  if (remote) pm.advertise_to.push_back(*remote);  // multicast does not cross ports on one host
  node.manage_peers_automatically(pm);

  signal_set signals(io, {SIGINT, SIGTERM});
  node.scope().spawn(
      [&]() -> task<void> {
        co_await signals.wait();
        node.request_stop();
      },
      "signals");
  node.scope().spawn(
      [&]() -> task<void> {
        const message echo =
            message::prepare(body::prepare({}, as_bytes("echo")), message_type::request_uri);
        for (;;) {
          co_await sleep_for(1s);
          if (remote) {
            node.log().info(std::nullopt, "sending message to ", remote->to_string());
            co_await node.send(echo, *remote);
          } else if (!node.peers().empty()) {
            node.log().info(std::nullopt, "broadcasting message to all known peers");
            co_await node.broadcast(echo);
          } else {
            node.log().info(std::nullopt, "no peers known, waiting to discover peers");
          }
        }
      },
      "echo sender");
  co_await node.join();
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  const endpoint local = endpoint::parse(argc > 1 ? argv[1] : "0.0.0.0:8888");
  std::optional<endpoint> remote;
  if (argc > 2) remote = endpoint::parse(argv[2]);
  io_context io;
  io.run(run_node(io, local, remote));
  std::puts("stopped");
}
