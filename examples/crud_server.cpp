// The reference README's CRUD server in C++: echo, a key-value store on
// CREATE/REQUEST/UPDATE/DELETE, subscribe/unsubscribe, and two HMAC layers
// (the server's own, and a second one on the writing handlers, signing into
// another field so the two never overwrite each other). An UPDATE notifies
// the uri's subscribers. Usage: crud_server [host:port] (127.0.0.1:8888;
// port 0: the kernel picks, printed). Stops on SIGINT or SIGTERM.
#include <netaio/netaio.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <map>
#include <string>

using namespace netaio;

namespace {

std::string text(byte_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The README's two layers: "test" over everything, "adminpassword" (in the
// "camh" field) on the handlers that write.
plugin_layer<message> outer_layer() {
  return {hmac_auth_plugin("test"), {}};
}
plugin_layer<message> admin_layer() {
  hmac_auth_options o;
  o.hmac_field = "camh";
  return {hmac_auth_plugin("adminpassword", o), {}};
}

void install_handlers(tcp_server& server, std::map<std::string, std::string>& storage) {
  const plugin_layer<message> admin = admin_layer();
  server.on(handler_key::of(message_type::request_uri, "echo"), [](message& m) {
    return make_respond_uri_msg<message>(m.body().content(), as_bytes("echo"));
  });
  server.on(
      handler_key::of(message_type::create_uri),
      [&](message& m) -> message {
        const std::string uri = text(m.body().uri());
        if (storage.contains(uri))
          return make_error_msg<message>("cannot overwrite", m.body().uri());
        storage[uri] = text(m.body().content());
        std::printf("CREATED resource: %s\n", uri.c_str());
        return make_ok_msg<message>(as_bytes("stored"), m.body().uri());
      },
      admin);
  server.on(handler_key::of(message_type::request_uri), [&](message& m) -> message {
    const auto it = storage.find(text(m.body().uri()));
    if (it == storage.end()) return make_not_found_msg<message>("not found", m.body().uri());
    return make_respond_uri_msg<message>(as_bytes(it->second), m.body().uri());
  });
  server.on(
      handler_key::of(message_type::update_uri),
      [&](message& m) -> message {
        const auto it = storage.find(text(m.body().uri()));
        if (it == storage.end()) return make_not_found_msg<message>("not found", m.body().uri());
        it->second = text(m.body().content());
        std::printf("UPDATED resource: %s\n", it->first.c_str());
        // Subscribers hear of it (queued: notify never waits).
        server.notify(m.body().uri(),
                      message::prepare(body::prepare(m.body().content(), m.body().uri()),
                                       message_type::notify_uri));
        return make_ok_msg<message>(as_bytes("stored"), m.body().uri());
      },
      admin);
  server.on(
      handler_key::of(message_type::delete_uri),
      [&](message& m) -> message {
        if (storage.erase(text(m.body().uri())) == 0)
          return make_not_found_msg<message>("not found", m.body().uri());
        std::printf("DELETED resource: %s\n", text(m.body().uri()).c_str());
        return make_ok_msg<message>(as_bytes("deleted"), m.body().uri());
      },
      admin);
  server.on(handler_key::of(message_type::subscribe_uri), [&](message& m, tcp_connection& c) {
    server.subscribe(m.body().uri(), c);
    return message::prepare(body::prepare({}, m.body().uri()), message_type::confirm_subscribe);
  });
  server.on(handler_key::of(message_type::unsubscribe_uri), [&](message& m, tcp_connection& c) {
    server.unsubscribe(m.body().uri(), c);
    return message::prepare(body::prepare({}, m.body().uri()), message_type::confirm_unsubscribe);
  });
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const endpoint at = endpoint::parse(argc > 1 ? argv[1] : "127.0.0.1:8888");
    io_context io;
    // Before anything else: the signals queue for the set from now on.
    signal_set signals(io, {SIGINT, SIGTERM});
    io.run([&]() -> task<void> {
      std::map<std::string, std::string> storage;
      tcp_server server(io, {.at = at});
      server.set_plugins(outer_layer());
      install_handlers(server, storage);
      const endpoint bound = co_await server.start();
      std::printf("listening on %s\n", bound.to_string().c_str());
      std::fflush(stdout);
      const int signo = co_await signals.wait();
      std::printf("signal %d: stopping\n", signo);
      co_await server.stop();
      std::printf("stopped\n");
    }());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crud_server: %s\n", e.what());
    return 1;
  }
}
