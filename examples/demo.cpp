// The demo: a server and a client talking over loopback with HMAC auth and
// the SHA-256 stream cipher on, printed as a transcript. It shows a request
// answered, the CRUD sequence, a subscription, a forged request refused, a
// request that times out (with a coroutine timeout handler) and a clean
// stop that leaves no task behind.
#include <netaio/netaio.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

using namespace netaio;
using namespace std::chrono_literals;

namespace {

event_loop::time_point start;
io_context* clock_source = nullptr;

void say(const std::string& who, const std::string& what) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_source->now() - start);
  std::printf("[%4lld ms] %-7s %s\n", static_cast<long long>(ms.count()), who.c_str(),
              what.c_str());
  std::fflush(stdout);
}

std::string text(byte_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string describe(const message& m) {
  return std::string(to_string(m.type())) + " \"" + text(m.body().content()) + "\"";
}

// The plugins both ends share: the node-wide (outer) layer.
plugin_layer<message> secured(std::string_view hmac_secret) {
  return {hmac_auth_plugin(hmac_secret), sha256_stream_cipher_plugin("demo cipher key")};
}

// A key-value store answering the reference's CRUD messages, plus echo.
void serve(tcp_server& server, std::map<std::string, std::string>& store) {
  server.on(handler_key::of(message_type::request_uri, "echo"),
            [](message& m) { return make_respond_uri_msg(m.body().content(), m.body().uri()); });
  server.on(handler_key::of(message_type::request_uri, "slow"), [](message&) -> task<message> {
    co_await sleep_for(1h);  // never answers in time; cancelled by the stop
    co_return make_ok_msg();
  });
  server.on(handler_key::of(message_type::create_uri), [&](message& m) -> std::optional<message> {
    const std::string key = text(m.body().uri());
    if (store.contains(key)) return make_error_msg("already exists", m.body().uri());
    store[key] = text(m.body().content());
    return make_ok_msg(m.body().content(), m.body().uri());
  });
  server.on(handler_key::of(message_type::request_uri), [&](message& m) -> std::optional<message> {
    const auto it = store.find(text(m.body().uri()));
    if (it == store.end()) return make_not_found_msg("not found", m.body().uri());
    return make_respond_uri_msg(as_bytes(it->second), m.body().uri());
  });
  server.on(handler_key::of(message_type::update_uri), [&](message& m) -> std::optional<message> {
    const std::string key = text(m.body().uri());
    if (!store.contains(key)) return make_not_found_msg("not found", m.body().uri());
    store[key] = text(m.body().content());
    // Everyone subscribed to this uri hears about it.
    server.notify(m.body().uri(),
                  message::prepare(message::body_t::prepare(m.body().content(), m.body().uri(), 0),
                                   message_type::notify_uri));
    return make_ok_msg(m.body().content(), m.body().uri());
  });
  server.on(handler_key::of(message_type::delete_uri), [&](message& m) -> std::optional<message> {
    if (store.erase(text(m.body().uri())) == 0)
      return make_not_found_msg("not found", m.body().uri());
    return make_ok_msg({}, m.body().uri());
  });
  // Subscriptions are the application's, as in the reference.
  server.on(handler_key::of(message_type::subscribe_uri), [&](message& m, tcp_connection& c) {
    server.subscribe(m.body().uri(), c);
    return message::prepare(message::body_t::prepare({}, m.body().uri(), 0),
                            message_type::confirm_subscribe);
  });
}

// The nodes' own log lines (warnings and up), in the transcript.
logger transcript_log(std::string who) {
  return logger(
      [who](log_level, std::string_view text, const std::optional<peer_address>&) {
        say(who, "log: " + std::string(text));
      },
      log_level::warning);
}

task<void> demo(io_context& io) {
  std::map<std::string, std::string> store;
  tcp_server server(io, {.at = endpoint::parse("127.0.0.1:0")});
  server.set_logger(transcript_log("server"));
  server.set_plugins(secured("demo hmac secret"));
  serve(server, store);
  const endpoint at = co_await server.start();
  say("server", "listening on " + at.to_string() + " (HMAC auth + SHA-256 stream cipher)");

  tcp_client client(io, {.server = at});
  client.set_plugins(secured("demo hmac secret"));
  client.on(handler_key::of(message_type::notify_uri, "greeting"), [](message& m) {
    say("client", "notified: greeting is now \"" + text(m.body().content()) + "\"");
  });
  client.set_timeout_handler([](tcp_client&, timeout_kind kind, const std::optional<peer_address>&,
                                const timed_out&, const timeout_context& ctx) -> task<void> {
    // A coroutine handler runs as a child of the client's scope: the
    // client's stop() cancels and joins it.
    say("handler", std::string(to_string(kind)) + " for \"" + text(ctx.uri) + "\" after " +
                       std::to_string(ctx.timeout / 1ms) + " ms; would reconnect here");
    co_return;
  });
  co_await client.connect();
  say("client", "connected to " + at.to_string());

  message m = co_await client.request(as_bytes("echo"), {}, as_bytes("hello, netaio"));
  say("client", "echo -> " + describe(m));

  m = co_await client.create(as_bytes("greeting"), as_bytes("hi"));
  say("client", "create greeting=hi -> " + describe(m));
  m = co_await client.create(as_bytes("greeting"), as_bytes("again"));
  say("client", "create greeting again -> " + describe(m));
  m = co_await client.subscribe(as_bytes("greeting"));
  say("client", "subscribe greeting -> " + std::string(to_string(m.type())));
  m = co_await client.update(as_bytes("greeting"), as_bytes("hello"));
  say("client", "update greeting=hello -> " + describe(m));
  m = co_await client.request(as_bytes("greeting"));
  say("client", "request greeting -> " + describe(m));
  m = co_await client.del(as_bytes("greeting"));
  say("client", "delete greeting -> " + std::string(to_string(m.type())));
  m = co_await client.request(as_bytes("greeting"));
  say("client", "request greeting -> " + std::string(to_string(m.type())));

  // A client with the wrong HMAC secret is refused at once, not timed out.
  {
    tcp_client forger(io, {.server = at});
    forger.set_plugins(secured("not the secret"));
    co_await forger.connect();
    try {
      (void)co_await forger.request(as_bytes("echo"), {}, as_bytes("let me in"));
    } catch (const authentication_failed& e) {
      say("forger", std::string("refused: ") + e.what());
    }
    co_await forger.stop();
  }

  try {
    (void)co_await client.request(as_bytes("slow"), {.timeout = 200ms});
  } catch (const timed_out&) {
    say("client", "request slow -> timed_out after 200 ms (the request throws at once)");
  }
  co_await yield();  // let the timeout handler have its turn

  say("client", "stopping: " + std::to_string(client.scope().size()) + " task(s) to join");
  co_await client.stop();
  say("server", "stopping: " + std::to_string(server.scope().size()) + " task(s) to join");
  co_await server.stop();
  say("demo", "stopped; tasks left: client " + std::to_string(client.scope().size()) + ", server " +
                  std::to_string(server.scope().size()));
}

}  // namespace

int main() {
  io_context io;
  clock_source = &io;
  start = io.now();
  try {
    io.run(demo(io));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "demo failed: %s\n", e.what());
    return 1;
  }
  return 0;
}
