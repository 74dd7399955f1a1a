// A server stopped from inside one of its handlers, with a client
// connected: the handler's stop() cancels the server's tasks (its own
// included) and returns; the server's run() completes the join, and the
// program exits 0 with nothing left running.
#include <netaio/netaio.hpp>

#include <chrono>
#include <cstdio>
#include <exception>

using namespace netaio;
using namespace std::chrono_literals;

namespace {

task<void> run(io_context& io) {
  tcp_server server(io, {.at = endpoint::parse("127.0.0.1:0")});
  server.on(handler_key::of(message_type::request_uri, "echo"), [](message& m) {
    return make_respond_uri_msg<message>(m.body().content(), m.body().uri());
  });
  server.on(handler_key::of(message_type::request_uri, "shutdown"),
            [&server](message&) -> task<void> {
              std::printf("handler: stopping the server that runs me\n");
              co_await server.stop();
            });
  const endpoint at = co_await server.start();
  std::printf("server listening on %s\n", at.to_string().c_str());
  tcp_client client(io, {.server = at, .request_timeout = 5s});
  // Bounded: were the stop to hang, this would end it with timed_out.
  co_await with_timeout(
      10s, with_scope([&](task_scope& s) -> task<void> {
        s.spawn([&]() -> task<void> { co_await server.run(); }, "server");
        co_await client.connect();
        const message m = co_await client.request(as_bytes("echo"), {}, as_bytes("hello"));
        std::printf("client: echo answered '%.*s'\n", static_cast<int>(m.body().content().size()),
                    reinterpret_cast<const char*>(m.body().content().data()));
        try {
          (void)co_await client.request(as_bytes("shutdown"));
        } catch (const io_error&) {
          // The server closed every connection, this one included.
          std::printf("client: the server closed the connection\n");
        }
      }));
  std::printf("server.run() returned: %zu tasks left\n", server.scope().size());
  co_await client.stop();
  co_await server.stop();  // idempotent: already stopped
}

}  // namespace

int main() {
  try {
    io_context io;
    io.run(run(io));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stop_from_handler: %s\n", e.what());
    return 1;
  }
  std::printf("exiting 0\n");
  return 0;
}
