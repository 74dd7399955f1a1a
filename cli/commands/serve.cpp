// serve: a TCP server with an echo handler, an in-memory store answering the
// reference README's CRUD messages, and subscriptions with a NOTIFY_URI to
// subscribers on every create/update/delete of their uri. SIGINT/SIGTERM
// stop it: the first gracefully (the server's bounded stop), a second one at
// once.
#include "../security.hpp"
#include "../stop_on_signal.hpp"
#include "commands.hpp"

#include <netaio/io/signal_set.hpp>
#include <netaio/node/tcp_server.hpp>

#include <csignal>
#include <cstdio>
#include <map>
#include <memory>

namespace netaio_cli {

namespace {

using namespace netaio;
using namespace std::chrono_literals;

struct serve_options {
  std::string listen = "127.0.0.1:8888";
  double grace = 5;
  security_options security;
};

message notification(byte_view uri, byte_view content) {
  return message::prepare(message::body_t::prepare(content, uri, 0), message_type::notify_uri);
}
message confirmation(byte_view uri, message_type t) {
  return message::prepare(message::body_t::prepare({}, uri, 0), t);
}

// The reference README's server, with subscriptions on top.
void install_handlers(tcp_server& server, std::map<byte_buffer, byte_buffer>& store) {
  server.on(handler_key::of(message_type::request_uri, "echo"),
            [](message& m) { return make_respond_uri_msg(m.body().content(), as_bytes("echo")); });
  server.on(handler_key::of(message_type::create_uri), [&](message& m) -> message {
    byte_buffer uri = to_buffer(m.body().uri());
    if (store.contains(uri)) return make_error_msg("cannot overwrite", m.body().uri());
    store[uri] = to_buffer(m.body().content());
    server.notify(m.body().uri(), notification(m.body().uri(), m.body().content()));
    return make_ok_msg(as_bytes("stored"), m.body().uri());
  });
  server.on(handler_key::of(message_type::request_uri), [&](message& m) -> message {
    const auto it = store.find(to_buffer(m.body().uri()));
    if (it == store.end()) return make_not_found_msg("not found", m.body().uri());
    return make_respond_uri_msg(it->second, m.body().uri());
  });
  server.on(handler_key::of(message_type::update_uri), [&](message& m) -> message {
    const auto it = store.find(to_buffer(m.body().uri()));
    if (it == store.end()) return make_not_found_msg("not found", m.body().uri());
    it->second = to_buffer(m.body().content());
    server.notify(m.body().uri(), notification(m.body().uri(), m.body().content()));
    return make_ok_msg(as_bytes("stored"), m.body().uri());
  });
  server.on(handler_key::of(message_type::delete_uri), [&](message& m) -> message {
    if (store.erase(to_buffer(m.body().uri())) == 0)
      return make_not_found_msg("not found", m.body().uri());
    server.notify(m.body().uri(), notification(m.body().uri(), {}));
    return make_ok_msg(as_bytes("deleted"), m.body().uri());
  });
  server.on(handler_key::of(message_type::subscribe_uri), [&](message& m, tcp_connection& c) {
    server.subscribe(m.body().uri(), c);
    return confirmation(m.body().uri(), message_type::confirm_subscribe);
  });
  server.on(handler_key::of(message_type::unsubscribe_uri), [&](message& m, tcp_connection& c) {
    server.unsubscribe(m.body().uri(), c);
    return confirmation(m.body().uri(), message_type::confirm_unsubscribe);
  });
}

int run_serve(const serve_options& o, app_state& st) {
  const endpoint at = parse_address(o.listen, "--listen");
  auto layer = make_layer(o.security, st.log);
  const auto grace =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(o.grace));
  io_context io;
  // Blocked now, before the server exists, so no signal can kill the
  // process between "listening" and the wait.
  keep_stop_signals_blocked();
  signal_set signals(io, {SIGINT, SIGTERM});
  std::map<byte_buffer, byte_buffer> store;
  tcp_server server(io, {.at = at});
  server.set_logger(st.log);
  server.set_plugins(std::move(layer));
  install_handlers(server, store);
  auto body = [&]() -> task<int> {
    endpoint bound;
    bool listening = true;
    try {
      bound = co_await server.start();
    } catch (const io_error& e) {
      print_error(e.what());
      listening = false;
    }
    if (!listening) {
      co_await server.stop(0s);
      co_return exit_code::cannot_connect;
    }
    std::printf("listening on %s\n", bound.to_string().c_str());
    std::fflush(stdout);
    co_await stop_on_signal(signals, server, grace, st.log, [] {});
    co_return exit_code::ok;
  };
  return io.run(body());
}

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
  cmd->add_option("--grace", o->grace,
                  "seconds a stop waits for handlers before ending them (default 5)")
      ->check(CLI::NonNegativeNumber);
  add_security_options(cmd, o->security);
  add_example(cmd, "netaio serve --listen 127.0.0.1:0 --hmac-secret test");
  on_run(cmd, st, [o, &st] { return run_serve(*o, st); });
}

}  // namespace netaio_cli
