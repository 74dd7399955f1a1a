// The reference README's client in C++: echo, then the CRUD sequence
// against crud_server (the writes under the second HMAC layer), plus a
// subscription that hears the update. Usage: crud_client host:port.
// Exits 0 when every answer was the expected one.
#include <netaio/netaio.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <random>
#include <string>

using namespace netaio;
using namespace std::chrono_literals;

namespace {

std::string text(byte_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// As crud_server: the same two layers.
plugin_layer<message> outer_layer() {
  return {hmac_auth_plugin("test"), {}};
}
plugin_layer<message> admin_layer() {
  hmac_auth_options o;
  o.hmac_field = "camh";
  return {hmac_auth_plugin("adminpassword", o), {}};
}

// The README's 'testing it' + token_hex(4).
std::string fresh_content() {
  std::random_device rd;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(rd()));
  return std::string("testing it") + hex;
}

bool ok = true;
void check(const char* step, bool good, const message& m) {
  std::printf("%-10s %-8s %s '%s'\n", step, good ? "ok" : "FAILED",
              std::string(to_string(m.type())).c_str(), text(m.body().content()).c_str());
  ok = ok && good;
}

task<void> run_client(io_context& io, endpoint server) {
  tcp_client client(io, {.server = server, .connect_timeout = 5s, .request_timeout = 5s});
  client.set_plugins(outer_layer());
  // A call's own layer (the reference's auth_plugin= argument), for the
  // calls below that need it.
  const call_options<message> admin{.inner = admin_layer()};
  std::string notified;
  async_event heard;
  client.on(handler_key::of(message_type::notify_uri, "test1"), [&](message& m) {
    notified = text(m.body().content());
    heard.set();
  });
  try {
    co_await client.connect();
    message m = co_await client.request(as_bytes("echo"), {}, as_bytes("test"));
    check("echo", m.type() == message_type::respond_uri && text(m.body().content()) == "test", m);
    const std::string content = fresh_content();
    m = co_await client.create(as_bytes("test1"), as_bytes(content), admin);
    check("create", m.type() == message_type::ok, m);
    m = co_await client.request(as_bytes("test1"));
    check("read", text(m.body().content()) == content, m);
    m = co_await client.subscribe(as_bytes("test1"));
    check("subscribe", m.type() == message_type::confirm_subscribe, m);
    const std::string new_content = fresh_content();
    m = co_await client.update(as_bytes("test1"), as_bytes(new_content), admin);
    check("update", m.type() == message_type::ok, m);
    const bool got = co_await move_on_after(5s, heard.wait());
    std::printf("%-10s %-8s '%s'\n", "notified", got && notified == new_content ? "ok" : "FAILED",
                notified.c_str());
    ok = ok && got && notified == new_content;
    m = co_await client.request(as_bytes("test1"));
    check("read", text(m.body().content()) == new_content, m);
    m = co_await client.unsubscribe(as_bytes("test1"));
    check("unsubscr.", m.type() == message_type::confirm_unsubscribe, m);
    m = co_await client.del(as_bytes("test1"), admin);
    check("delete", m.type() == message_type::ok, m);
    m = co_await client.request(as_bytes("test1"));
    check("read", m.type() == message_type::not_found, m);
  } catch (const std::exception& e) {
    std::printf("error: %s\n", e.what());
    ok = false;
  }
  co_await client.stop();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: crud_client host:port\n");
    return 2;
  }
  try {
    const endpoint server = endpoint::parse(argv[1]);
    io_context io;
    io.run(run_client(io, server));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crud_client: %s\n", e.what());
    return 1;
  }
  std::printf("%s\n", ok ? "all steps ok" : "some steps FAILED");
  return ok ? 0 : 1;
}
