// The program every packaging check builds (drop-in headers, single header,
// Meson subproject and wrap, pkg-config, CMake, Conan): a server and a client
// on loopback exchange one request and its response, both authenticated with
// the HMAC auth plugin. Exits 0 and prints one line when all went well.
#include <netaio/netaio.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

using namespace netaio;

namespace {

const hmac_auth_plugin auth("consumer secret");

// Reads one whole frame: the reader says how many bytes it needs next.
task<message> read_message(tcp_stream& s) {
  const frame_reader reader;
  byte_buffer buf;
  for (;;) {
    const auto r = reader.parse(buf);
    r.throw_if_malformed();
    if (r) co_return r.to_message();
    const std::size_t have = buf.size();
    buf.resize(r.needed);
    co_await s.read_exact(std::span(buf).subspan(have));
  }
}

task<void> send_message(tcp_stream& s, message m) {
  auth.make(m.auth_data(), m.body());
  const byte_buffer frame = m.encode();
  co_await s.write_all(frame);
}

// Answers one request with its content reversed, or with AUTH_ERROR.
task<void> server(tcp_listener& listener) {
  tcp_stream s = co_await listener.accept();
  message request = co_await read_message(s);
  if (!auth.check(request.auth_data(), request.body())) {
    co_await send_message(s, auth.error());
    co_return;
  }
  byte_buffer content = request.body().content();
  std::reverse(content.begin(), content.end());
  co_await send_message(s, make_respond_uri_msg(content, request.body().uri()));
}

task<std::string> client(io_context& io, endpoint to) {
  tcp_stream c = co_await tcp_stream::connect(io, to);
  co_await send_message(c, message::prepare(body::prepare(as_bytes("olleh"), as_bytes("greeting")),
                                            message_type::request_uri));
  message reply = co_await read_message(c);
  if (reply.type() != message_type::respond_uri || !auth.check(reply.auth_data(), reply.body()))
    throw std::runtime_error("unexpected or unauthenticated reply");
  const auto& got = reply.body().content();
  co_return std::string(got.begin(), got.end());
}

task<std::string> exchange(io_context& io) {
  auto listener = tcp_listener::bind(io, endpoint::parse("127.0.0.1:0"));
  auto [ignored, reply] =
      co_await when_all(server(listener), client(io, listener.local_endpoint()));
  (void)ignored;
  co_return reply;
}

}  // namespace

int main() {
  try {
    io_context io;
    const std::string reply = io.run(exchange(io));
    if (reply != "hello") {
      std::fprintf(stderr, "consumer: wrong reply '%s'\n", reply.c_str());
      return 1;
    }
    std::printf("consumer: netaio %s, HMAC-authenticated exchange over loopback: %s\n",
                NETAIO_VERSION, reply.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
