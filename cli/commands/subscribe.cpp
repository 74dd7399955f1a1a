// subscribe: print each notification for a uri until --count arrived or the
// program is interrupted (issue 10).
//
// TODO(node layer): connect a tcp_client (include/netaio/node/tcp_client.hpp,
// branch h/tcp) with make_layer(o->security) as its plugins; send
// SUBSCRIBE_URI for URI, print each NOTIFY_URI's content on its own line
// (flushed); after --count notifications, or on SIGINT/SIGTERM (a
// netaio::signal_set on the io_context), send UNSUBSCRIBE_URI and exit 0.
// Exit 4 when it cannot connect.
#include "../security.hpp"
#include "commands.hpp"

#include <memory>

namespace netaio_cli {

namespace {
struct subscribe_options {
  std::string address;
  std::string uri;
  std::size_t count = 0;
  security_options security;
};
}  // namespace

void add_subscribe_command(CLI::App& app, app_state& st) {
  auto o = std::make_shared<subscribe_options>();
  auto* cmd = app.add_subcommand(
      "subscribe",
      "Subscribe to URI and print each notification's content, one per line, until --count "
      "arrived or interrupted (then unsubscribe and exit 0).");
  cmd->add_option("ADDR", o->address, "the server, HOST:PORT")->required();
  cmd->add_option("URI", o->uri, "the uri to follow")->required();
  cmd->add_option("--count", o->count, "stop after this many notifications (default: no limit)");
  add_security_options(cmd, o->security);
  add_example(cmd, "netaio subscribe 127.0.0.1:8888 news --count 3");
  on_run(cmd, st, [o, &st] {
    parse_address(o->address);
    make_layer(o->security, st.log);
    return needs_node_layer("subscribe");
  });
}

}  // namespace netaio_cli
