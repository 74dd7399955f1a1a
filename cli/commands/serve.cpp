// serve: a TCP server with an echo handler, an in-memory store and
// subscriptions (issue 10).
//
// TODO(node layer): run a tcp_server (include/netaio/node/tcp_server.hpp,
// branch h/tcp) with make_layer(o->security) as its outer plugins:
//   - (REQUEST_URI, "echo") -> RESPOND_URI echoing the content;
//   - CREATE_URI / REQUEST_URI / UPDATE_URI / DELETE_URI on a map, as the
//     reference README's server (CREATE of an existing uri -> ERROR, missing
//     uri -> NOT_FOUND); SUBSCRIBE_URI / UNSUBSCRIBE_URI with a NOTIFY_URI to
//     subscribers on every create/update/delete of that uri;
//   - print exactly "listening on HOST:PORT" (the real port) and flush;
//   - netaio::signal_set{SIGINT, SIGTERM} on the io_context: the first
//     signal calls the server's stop(grace) (bounded), a second one stops at
//     once; exit 0.
#include "../security.hpp"
#include "commands.hpp"

#include <memory>

namespace netaio_cli {

namespace {
struct serve_options {
  std::string listen = "127.0.0.1:8888";
  security_options security;
};
}  // namespace

void add_serve_command(CLI::App& app, app_state& st) {
  auto o = std::make_shared<serve_options>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Run a TCP server: echo on (REQUEST_URI, echo), an in-memory store for CREATE_URI / "
      "REQUEST_URI / UPDATE_URI / DELETE_URI, SUBSCRIBE_URI / UNSUBSCRIBE_URI with NOTIFY_URI. "
      "Prints `listening on HOST:PORT` when ready; SIGINT/SIGTERM stop it.");
  cmd->add_option("--listen", o->listen,
                  "HOST:PORT to listen on (default 127.0.0.1:8888; port 0 "
                  "picks a free one)");
  add_security_options(cmd, o->security);
  add_example(cmd, "netaio serve --listen 127.0.0.1:0 --hmac-secret test");
  on_run(cmd, st, [o, &st] {
    // Bad input is refused now, as it will be once the server runs.
    parse_address(o->listen, "--listen");
    make_layer(o->security, st.log);
    return needs_node_layer("serve");
  });
}

}  // namespace netaio_cli
