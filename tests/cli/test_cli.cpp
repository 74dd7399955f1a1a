// The netaio command, driven as a subprocess: --version and --help, exit 64
// for bad input, encode and decode (round trips, each malformed kind with its
// reason), send/request against a one-connection server in the test (plain,
// HMAC, stream cipher, secrets from the environment), and, where
// ../shared/reference and PyNaCl exist, frames crossing to and from the
// Python reference.
#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/node/framed_stream.hpp>
#include <netaio/plugins.hpp>
#include <netaio/version.hpp>
#include <netaio/wire.hpp>

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "cli/cli_support.hpp"

using namespace netaio;
using cli_test::result;
using cli_test::server_log;

namespace {

const std::string program = NETAIO_CLI_PATH;

result cli(const std::vector<std::string>& args, const std::string& input = {},
           const std::map<std::string, std::string>& env = {}) {
  return cli_test::run_program(program, args, input, env);
}

std::string hex(byte_view b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (auto c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}
std::string text(byte_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
std::string as_string(const byte_buffer& b) {
  return text(b);
}

// Bad input: exit 64, exactly one line on stderr, naming the problem, and
// nothing on stdout.
void check_usage_error(const std::vector<std::string>& args, const std::string& says) {
  CAPTURE(args);
  const result r = cli(args);
  CHECK(r.code == 64);
  CHECK(r.out.empty());
  const auto lines = r.err_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].starts_with("netaio: "));
  CHECK_MESSAGE(lines[0].find(says) != std::string::npos, lines[0]);
}

message make(message_type t, std::string_view uri, std::string_view content) {
  return message::prepare(body::prepare(as_bytes(content), as_bytes(uri)), t);
}

const std::vector<std::string> all_commands = {"serve",       "request",   "create", "update",
                                               "delete",      "subscribe", "send",   "udp",
                                               "udp-request", "decode",    "encode", "bench"};

}  // namespace

TEST_CASE("--version prints the library's version") {
  const result r = cli({"--version"});
  CHECK(r.code == 0);
  CHECK(r.out == "netaio " NETAIO_VERSION "\n");
  CHECK(r.err.empty());
}

TEST_CASE("--help lists every command, and every command has --help with an example") {
  const result top = cli({"--help"});
  CHECK(top.code == 0);
  for (const auto& c : all_commands) {
    CAPTURE(c);
    CHECK(top.out.find(c) != std::string::npos);
    const result r = cli({c, "--help"});
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.find("Example:\n  netaio ") != std::string::npos);
    CHECK(r.out.find("netaio " + c) != std::string::npos);
  }
  // Security options on every command that talks.
  for (const char* c : {"serve", "request", "create", "update", "delete", "subscribe", "send",
                        "udp", "udp-request", "bench"}) {
    CAPTURE(c);
    const result r = cli({c, "--help"});
    for (const char* opt : {"--hmac-secret", "--cipher-key", "--aead-key", "--hmac-field",
                            "--iv-field", "--replay-window"})
      CHECK(r.out.find(opt) != std::string::npos);
  }
}

TEST_CASE("bad input is one line on stderr and exit 64") {
  check_usage_error({}, "no command");
  check_usage_error({"--bogus"}, "--bogus");
  check_usage_error({"decode", "--bogus"}, "--bogus");
  check_usage_error({"frobnicate"}, "frobnicate");
  check_usage_error({"encode", "--uri", "x"}, "--type");
  check_usage_error({"encode", "--type", "FOO", "--uri", "x"}, "unknown message type 'FOO'");
  check_usage_error({"encode", "--type", "256", "--uri", "x"}, "0..255");
  check_usage_error({"send", "nowhere", "--type", "OK", "--uri", "x"}, "bad address 'nowhere'");
  check_usage_error({"send", "127.0.0.1:99999", "--type", "OK", "--uri", "x"}, "port");
  check_usage_error({"send", "example.com:80", "--type", "OK", "--uri", "x"}, "example.com");
  check_usage_error({"request", "1.2.3:4", "x"}, "bad address");
  check_usage_error({"serve", "--listen", "localhost"}, "bad --listen");
  check_usage_error({"udp", "--peer", "[::1]"}, "bad --peer");
  check_usage_error({"send", "127.0.0.1:1", "--type", "OK", "--uri", "x", "--wait", "-1"},
                    "--wait");
  check_usage_error({"encode", "--type", "OK", "--uri", "x", "--aead-key", "too short"},
                    "--aead-key must be at least 16 bytes, this one has 9");
  check_usage_error({"encode", "--type", "OK", "--uri", "x", "--hmac-secret", ""}, "empty");
  check_usage_error({"encode", "--type", "OK", "--uri", "x", "--hmac-secret", "hex:zz"}, "hex");
  check_usage_error({"encode", "--type", "OK", "--uri", "x", "--cipher-key", "a", "--aead-key",
                     "0123456789abcdef"},
                    "not both");
  check_usage_error({"encode", "--type", "OK", "--uri", "x", "--replay-window", "30"},
                    "--replay-window needs --hmac-secret");
  check_usage_error(
      {"encode", "--type", "OK", "--uri", "x", "--content", "a", "--content-hex", "00"},
      "excludes");
  check_usage_error({"decode", "/nonexistent/frame.bin"}, "cannot open /nonexistent/frame.bin");
}

TEST_CASE("no command is a stub: none says it needs the node layer or exits 70") {
  // udp, udp-request and bench run for real (tests/cli/test_cli_nodes.cpp);
  // here only that nothing answers as the old stubs did.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"udp-request", "127.0.0.1:1", "u", "--timeout", "0.2"},
        {"bench", "127.0.0.1:1", "--duration", "0.2"}}) {
    CAPTURE(args);
    const result r = cli(args);
    CHECK(r.code != 70);
    CHECK(r.err.find("needs the node layer") == std::string::npos);
  }
}

namespace {
/// `netaio serve` on a free port; gives the address it printed.
std::string started(cli_test::background& server) {
  const std::string line = server.next_line();
  REQUIRE_MESSAGE(line.rfind("listening on 127.0.0.1:", 0) == 0, "got: " << line);
  return line.substr(std::string("listening on ").size());
}
}  // namespace

TEST_CASE("serve answers echo and the CRUD sequence with HMAC + cipher; SIGTERM stops it, exit 0") {
  const std::vector<std::string> sec{"--hmac-secret", "serve test", "--cipher-key", "k"};
  auto with_sec = [&](std::vector<std::string> a) {
    a.insert(a.end(), sec.begin(), sec.end());
    return a;
  };
  cli_test::background server(NETAIO_CLI_PATH, with_sec({"serve", "--listen", "127.0.0.1:0"}));
  const std::string addr = started(server);
  result r = cli(with_sec({"request", addr, "echo", "--content", "hi"}));
  CHECK(r.code == 0);
  CHECK(r.out == "hi");
  r = cli(with_sec({"create", addr, "notes/1", "first"}));
  CHECK(r.code == 0);
  r = cli(with_sec({"create", addr, "notes/1", "again"}));
  CHECK(r.code == 2);  // ERROR: cannot overwrite
  r = cli(with_sec({"request", addr, "notes/1"}));
  CHECK(r.code == 0);
  CHECK(r.out == "first");
  r = cli(with_sec({"update", addr, "notes/1", "second"}));
  CHECK(r.code == 0);
  r = cli(with_sec({"delete", addr, "notes/1"}));
  CHECK(r.code == 0);
  r = cli(with_sec({"request", addr, "notes/1"}));
  CHECK(r.code == 1);  // NOT_FOUND
  r = cli({"request", addr, "echo", "--hmac-secret", "wrong", "--cipher-key", "k"});
  CHECK(r.code == 2);  // AUTH_ERROR
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
  CHECK(server.next_line().empty());  // nothing more on stdout
}

TEST_CASE("serve stops on SIGINT with exit 0; a port in use is refused") {
  cli_test::background server(NETAIO_CLI_PATH, {"serve", "--listen", "127.0.0.1:0"});
  const std::string addr = started(server);
  const result busy = cli({"serve", "--listen", addr});
  CHECK(busy.code == 4);
  CHECK(busy.err.find("netaio: ") == 0);
  server.signal(SIGINT);
  CHECK(server.wait() == 0);
}

namespace {
/// Updates `uri` with "u0", "u1", ... until `sub` prints its first line
/// (it prints nothing until its subscription is confirmed); gives that line.
std::string first_notification(const std::string& addr, cli_test::background& sub) {
  for (int i = 0; i < 60; ++i) {
    CHECK(cli({"update", addr, "news", "u" + std::to_string(i)}).code == 0);
    if (auto line = sub.try_line(std::chrono::milliseconds(500))) return *line;
  }
  FAIL("the subscriber printed nothing");
  return {};
}
}  // namespace

TEST_CASE("subscribe prints each notification's content; --count ends it, a signal too") {
  cli_test::background server(NETAIO_CLI_PATH, {"serve", "--listen", "127.0.0.1:0"});
  const std::string addr = started(server);
  CHECK(cli({"create", addr, "news", "one"}).code == 0);

  cli_test::background once(NETAIO_CLI_PATH, {"subscribe", addr, "news", "--count", "1"});
  CHECK(first_notification(addr, once).rfind("u", 0) == 0);
  CHECK(once.wait() == 0);  // ended by itself after one

  cli_test::background sub(NETAIO_CLI_PATH, {"subscribe", addr, "news"});
  std::string line = first_notification(addr, sub);
  CHECK(cli({"update", addr, "news", "final"}).code == 0);
  int later = 0;
  while (line != "final") {  // updates in flight when the first line came, in order
    CHECK(line.rfind("u", 0) == 0);
    line = sub.next_line();
    ++later;
  }
  CHECK(later >= 1);
  sub.signal(SIGTERM);  // unsubscribes, exits 0
  CHECK(sub.wait() == 0);
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
}

TEST_CASE("subscribe to a server that is not there exits 4") {
  cli_test::background probe(NETAIO_CLI_PATH, {"serve", "--listen", "127.0.0.1:0"});
  const std::string addr = started(probe);
  probe.signal(SIGTERM);
  REQUIRE(probe.wait() == 0);  // the port is free again: nobody listens there
  const result r = cli({"subscribe", addr, "news", "--timeout", "5"});
  CHECK(r.code == 4);
}

TEST_CASE("encode writes the frame the wire layer makes, binary or hex") {
  const byte_buffer want = make(message_type::request_uri, "echo", "hello").encode();
  for (const char* t : {"REQUEST_URI", "request_uri", "0"}) {
    const result bin = cli({"encode", "--type", t, "--uri", "echo", "--content", "hello"});
    CHECK(bin.code == 0);
    CHECK(bin.out == as_string(want));
  }
  const result h =
      cli({"encode", "--type", "REQUEST_URI", "--uri", "echo", "--content", "hello", "--hex"});
  CHECK(h.code == 0);
  CHECK(h.out == hex(want) + "\n");
  // Content from stdin, and as hex.
  const result in = cli({"encode", "--type", "OK", "--uri", "u", "--content", "-"}, "from stdin");
  CHECK(in.out == as_string(make(message_type::ok, "u", "from stdin").encode()));
  const result bytes = cli({"encode", "--type", "OK", "--uri", "u", "--content-hex", "00ff"});
  CHECK(bytes.out == as_string(message::prepare(body::prepare(byte_buffer{0, 255}, as_bytes("u")),
                                                message_type::ok)
                                   .encode()));
}

TEST_CASE("encode then decode: binary and hex round trips") {
  const result bin =
      cli({"encode", "--type", "CREATE_URI", "--uri", "notes/1", "--content", "it's\n"});
  REQUIRE(bin.code == 0);
  const result dec = cli({"decode"}, bin.out);
  CHECK(dec.code == 0);
  CHECK(dec.err.empty());
  const auto sum = dec.out.find("checksum: 0x");
  REQUIRE(sum != std::string::npos);
  CHECK(dec.out.substr(0, sum) == "type: CREATE_URI (2)\nauth_length: 3\nbody_length: 14\n");
  CHECK(
      dec.out.find("auth: {}\nuri: b'notes/1'\ncontent: b\"it's\\n\"\ncontent_hex: 697427730a\n") !=
      std::string::npos);

  const result h =
      cli({"encode", "--type", "CREATE_URI", "--uri", "notes/1", "--content", "it's\n", "--hex"});
  const result dec_hex = cli({"decode", "--hex", "-"}, h.out);
  CHECK(dec_hex.code == 0);
  CHECK(dec_hex.out == dec.out);

  // With HMAC: decode shows the auth fields, then checks them.
  const result sealed = cli({"encode", "--type", "REQUEST_URI", "--uri", "echo", "--content", "hi",
                             "--hmac-secret", "s3cret", "--hex"});
  REQUIRE(sealed.code == 0);
  const result opened = cli({"decode", "--hex", "--hmac-secret", "s3cret"}, sealed.out);
  CHECK(opened.code == 0);
  // (Random bytes may hold a quote: Python's repr then uses b"...".)
  CHECK(opened.out.find("auth: {'ts': b") != std::string::npos);
  CHECK(opened.out.find("'hmac': b") != std::string::npos);
  CHECK(opened.out.find("'nonce': b") != std::string::npos);
  CHECK(opened.out.find("opened: ok\nplain_uri: b'echo'\nplain_content: b'hi'\n") !=
        std::string::npos);
  const result forged = cli({"decode", "--hex", "--hmac-secret", "other"}, sealed.out);
  CHECK(forged.code == 1);
  CHECK(forged.err.find("auth check failed") != std::string::npos);

  // The stream cipher hides the uri and content; decode opens them with the key.
  const result enc = cli({"encode", "--type", "REQUEST_URI", "--uri", "echo", "--content", "hi",
                          "--cipher-key", "k", "--hmac-secret", "s", "--hex"});
  CHECK(enc.err.empty());  // with HMAC: no malleability warning
  const result dec_enc =
      cli({"decode", "--hex", "--cipher-key", "k", "--hmac-secret", "s"}, enc.out);
  CHECK(dec_enc.code == 0);
  CHECK(dec_enc.out.find("\nuri: b'echo'") == std::string::npos);
  CHECK(dec_enc.out.find("plain_uri: b'echo'\nplain_content: b'hi'\n") != std::string::npos);
}

TEST_CASE("decode names each kind of malformed frame and exits 1") {
  const byte_buffer good = make(message_type::request_uri, "echo", "hello").encode();
  auto check_bad = [](const byte_buffer& frame, const std::string& reason) {
    CAPTURE(reason);
    const result r = cli({"decode"}, as_string(frame));
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    const auto lines = r.err_lines();
    REQUIRE(lines.size() == 1);
    CHECK_MESSAGE(lines[0].starts_with("netaio: malformed frame: " + reason), lines[0]);
  };
  byte_buffer bad_sum = good;
  bad_sum.back() ^= 1;
  check_bad(bad_sum, "checksum mismatch: header says ");
  check_bad(byte_buffer(good.begin(), good.end() - 2),
            "truncated: header announces 23 bytes, frame has 21");
  check_bad(byte_buffer(good.begin(), good.begin() + 4), "truncated: 4 bytes, a header has 9");
  check_bad({}, "truncated: 0 bytes, a header has 9");
  byte_buffer bad_type = good;
  bad_type[0] = 99;
  check_bad(bad_type, "unknown message type: message type 99 is not defined");
  byte_buffer bad_auth = good;
  bad_auth[9] = 0xff;  // the auth section's first byte: no packify type
  check_bad(bad_auth, "bad auth fields");
  byte_buffer trailing = good;
  trailing.push_back(0);
  check_bad(trailing, "trailing bytes: 1 bytes after the frame");

  const result not_hex = cli({"decode", "--hex"}, "00zz");
  CHECK(not_hex.code == 1);
  CHECK(not_hex.err == "netaio: malformed frame: the input is not hex\n");
}

TEST_CASE("send prints each message that arrives until the server closes") {
  cli_test::one_shot_server server([](framed_stream& fs, server_log& log) -> task<void> {
    auto m = co_await cli_test::read_one(fs, log);
    if (!m) co_return;
    co_await fs.write_frame(make_respond_uri_msg(m->body().content(), as_bytes("echo")));
    co_await fs.write_frame(make_ok_msg());
    // Closing ends the client's wait: no sleeping on either side.
  });
  const result r = cli({"send", server.address(), "--type", "REQUEST_URI", "--uri", "echo",
                        "--content", "hi", "--wait", "60"});
  const server_log& log = server.join();
  CHECK(log.failure == "");
  REQUIRE(log.received.size() == 1);
  CHECK(log.received[0].type() == message_type::request_uri);
  CHECK(text(log.received[0].body().uri()) == "echo");
  CHECK(text(log.received[0].body().content()) == "hi");
  CHECK(r.code == 0);
  CHECK(r.out == "RESPOND_URI echo 6869\nOK - -\n");
  CHECK(r.err.empty());
}

TEST_CASE("send --count stops after that many messages") {
  cli_test::one_shot_server server([](framed_stream& fs, server_log& log) -> task<void> {
    if (!co_await cli_test::read_one(fs, log)) co_return;
    co_await fs.write_frame(make(message_type::notify_uri, "a b\\", "\x01"));
    co_await fs.write_frame(make(message_type::notify_uri, "-", ""));
    co_await cli_test::until_closed(fs);  // the client leaves on its own
  });
  const result r = cli({"send", server.address(), "--type", "SUBSCRIBE_URI", "--uri", "a", "--wait",
                        "60", "--count", "2"});
  CHECK(server.join().failure == "");
  CHECK(r.code == 0);
  CHECK(r.out == "NOTIFY_URI a\\x20b\\x5c 01\nNOTIFY_URI \\x2d -\n");
}

TEST_CASE("send with HMAC: sealed both ways; a wrong secret gets AUTH_ERROR") {
  auto hmac_server = [](framed_stream& fs, server_log& log) -> task<void> {
    const hmac_auth_plugin auth("s3cret");
    auto m = co_await cli_test::read_one(fs, log);
    if (!m) co_return;
    if (!auth.check(m->auth_data(), m->body())) {
      co_await fs.write_frame(auth.error());  // unsealed, as servers answer
      co_return;
    }
    message answer = make_respond_uri_msg(m->body().content(), as_bytes("echo"));
    auth.make(answer.auth_data(), answer.body());
    co_await fs.write_frame(answer);
  };
  SUBCASE("right secret, on the command line") {
    cli_test::one_shot_server server(hmac_server);
    const result r = cli({"send", server.address(), "--type", "REQUEST_URI", "--uri", "echo",
                          "--content", "hi", "--wait", "60", "--hmac-secret", "s3cret"});
    CHECK(server.join().failure == "");
    CHECK(r.code == 0);
    CHECK(r.out == "RESPOND_URI echo 6869\n");
    CHECK(r.err.empty());
  }
  SUBCASE("right secret, from NETAIO_HMAC_SECRET") {
    cli_test::one_shot_server server(hmac_server);
    const result r = cli({"send", server.address(), "--type", "REQUEST_URI", "--uri", "echo",
                          "--content", "hi", "--wait", "60"},
                         {}, {{"NETAIO_HMAC_SECRET", "s3cret"}});
    CHECK(server.join().failure == "");
    CHECK(r.out == "RESPOND_URI echo 6869\n");
  }
  SUBCASE("wrong secret") {
    cli_test::one_shot_server server(hmac_server);
    const result r = cli({"send", server.address(), "--type", "REQUEST_URI", "--uri", "echo",
                          "--content", "hi", "--wait", "60", "--hmac-secret", "guess"});
    CHECK(server.join().failure == "");
    CHECK(r.code == 0);
    CHECK(r.out == "AUTH_ERROR ERROR " + hex(as_bytes("HMAC auth failed")) + "\n");
  }
  SUBCASE("no secret: the server's answer is refused, the message shown as received") {
    cli_test::one_shot_server server(hmac_server);
    const result r =
        cli({"send", server.address(), "--type", "REQUEST_URI", "--uri", "echo", "--wait", "60"});
    CHECK(server.join().failure == "");
    CHECK(r.out == "AUTH_ERROR ERROR " + hex(as_bytes("HMAC auth failed")) + "\n");
  }
}

TEST_CASE("send with the stream cipher: secrets from the environment; warning without HMAC") {
  auto cipher_server = [](bool with_hmac) {
    return [with_hmac](framed_stream& fs, server_log& log) -> task<void> {
      const sha256_stream_cipher_plugin cipher("key");
      const hmac_auth_plugin auth("mac");
      auto m = co_await cli_test::read_one(fs, log);
      if (!m) co_return;
      if (with_hmac && !auth.check(m->auth_data(), m->body())) co_return;
      message plain = cipher.decrypt(*m);
      log.received.push_back(plain);
      message answer =
          cipher.encrypt(make_respond_uri_msg(plain.body().content(), as_bytes("echo")));
      if (with_hmac) auth.make(answer.auth_data(), answer.body());
      co_await fs.write_frame(answer);
    };
  };
  SUBCASE("cipher + HMAC from NETAIO_CIPHER_KEY / NETAIO_HMAC_SECRET: no warning") {
    cli_test::one_shot_server server(cipher_server(true));
    const result r = cli({"send", server.address(), "--type", "REQUEST_URI", "--uri", "echo",
                          "--content", "secret text", "--wait", "60"},
                         {}, {{"NETAIO_CIPHER_KEY", "key"}, {"NETAIO_HMAC_SECRET", "mac"}});
    const server_log& log = server.join();
    CHECK(log.failure == "");
    REQUIRE(log.received.size() == 2);
    CHECK(text(log.received[0].body().content()).find("secret") == std::string::npos);
    CHECK(text(log.received[1].body().uri()) == "echo");
    CHECK(text(log.received[1].body().content()) == "secret text");
    CHECK(r.code == 0);
    CHECK(r.out == "RESPOND_URI echo " + hex(as_bytes("secret text")) + "\n");
    CHECK(r.err.empty());
  }
  SUBCASE("cipher alone: it works, with a one-line warning that it is malleable") {
    cli_test::one_shot_server server(cipher_server(false));
    const result r = cli({"send", server.address(), "--type", "REQUEST_URI", "--uri", "echo",
                          "--content", "x", "--wait", "60", "--cipher-key", "key"});
    CHECK(server.join().failure == "");
    CHECK(r.code == 0);
    CHECK(r.out == "RESPOND_URI echo 78\n");
    const auto lines = r.err_lines();
    REQUIRE(lines.size() == 1);
    CHECK(
        lines[0].starts_with("netaio: warning: the SHA-256 stream cipher without "
                             "--hmac-secret is malleable"));
  }
}

TEST_CASE("send and request exit 4 when nothing listens") {
  std::uint16_t port = 0;
  {
    // A port that was free a moment ago and has no listener now.
    io_context io;
    port = tcp_listener::bind(io, endpoint::parse("127.0.0.1:0")).local_endpoint().port();
  }
  const std::string addr = "127.0.0.1:" + std::to_string(port);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"send", addr, "--type", "OK", "--uri", "x"},
        {"request", addr, "x"}}) {
    CAPTURE(args);
    const result r = cli(args);
    CHECK(r.code == 4);
    CHECK(r.out.empty());
    CHECK(r.err.starts_with("netaio: cannot connect to " + addr + ": "));
  }
}

TEST_CASE("request, create, update, delete: the answer decides the exit code") {
  auto answering = [](message answer) {
    return [answer](framed_stream& fs, server_log& log) -> task<void> {
      if (!co_await cli_test::read_one(fs, log)) co_return;
      co_await fs.write_frame(answer);
      co_await cli_test::until_closed(fs);
    };
  };
  SUBCASE("RESPOND_URI: content raw on stdout, exit 0; -v adds one summary line") {
    cli_test::one_shot_server server(
        answering(make_respond_uri_msg(byte_buffer{'a', 0, '\n'}, as_bytes("echo"))));
    const result r = cli({"-v", "request", server.address(), "echo", "--content", "q"});
    const server_log& log = server.join();
    CHECK(log.failure == "");
    REQUIRE(log.received.size() == 1);
    CHECK(log.received[0].type() == message_type::request_uri);
    CHECK(text(log.received[0].body().content()) == "q");
    CHECK(r.code == 0);
    CHECK(r.out == std::string("a\0\n", 3));
    const auto lines = r.err_lines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].starts_with("netaio: info: RESPOND_URI b'echo' 3 bytes in "));
  }
  SUBCASE("create with CONTENT from stdin: OK, exit 0") {
    cli_test::one_shot_server server(answering(make_ok_msg(as_bytes("stored"), as_bytes("n"))));
    const result r = cli({"create", server.address(), "n", "-"}, "piped");
    const server_log& log = server.join();
    REQUIRE(log.received.size() == 1);
    CHECK(log.received[0].type() == message_type::create_uri);
    CHECK(text(log.received[0].body().content()) == "piped");
    CHECK(r.code == 0);
    CHECK(r.out == "stored");
    CHECK(r.err.empty());
  }
  SUBCASE("update: NOT_FOUND, exit 1") {
    cli_test::one_shot_server server(answering(make_not_found_msg("not found", as_bytes("n"))));
    const result r = cli({"update", server.address(), "n", "new"});
    REQUIRE(server.join().received.size() == 1);
    CHECK(server.join().received[0].type() == message_type::update_uri);
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(r.err == "netaio: NOT_FOUND: not found\n");
  }
  SUBCASE("delete: ERROR, exit 2, its content on stderr") {
    cli_test::one_shot_server server(answering(make_error_msg("cannot delete", as_bytes("n"))));
    const result r = cli({"delete", server.address(), "n"});
    CHECK(server.join().received[0].type() == message_type::delete_uri);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == "netaio: ERROR: cannot delete\n");
  }
  SUBCASE("AUTH_ERROR, exit 2") {
    cli_test::one_shot_server server(answering(hmac_auth_plugin("x").error()));
    const result r = cli({"request", server.address(), "n", "--hmac-secret", "y"});
    server.join();
    CHECK(r.code == 2);
    CHECK(r.err == "netaio: AUTH_ERROR: HMAC auth failed\n");
  }
  SUBCASE("no answer within --timeout: exit 3") {
    cli_test::one_shot_server server([](framed_stream& fs, server_log& log) -> task<void> {
      if (!co_await cli_test::read_one(fs, log)) co_return;
      co_await cli_test::until_closed(fs);  // never answers
    });
    const result r = cli({"request", server.address(), "n", "--timeout", "0.3"});
    CHECK(server.join().failure == "");
    CHECK(r.code == 3);
    CHECK(r.out.empty());
    CHECK(r.err == "netaio: no answer from " + server.address() + " within 0.3 s\n");
  }
}

namespace {

// The reference (Python netaio) and PyNaCl, when both are there.
std::string reference_pythonpath() {
  const std::string ref = std::string(NETAIO_SOURCE_ROOT) + "/../shared/reference";
  struct stat st {};
  if (::stat((ref + "/netaio/netaio").c_str(), &st) != 0) return {};
  return ref + "/packify:" + ref + "/netaio:" + ref + "/tapescript";
}

result python(const std::string& code, const std::string& input = {}) {
  return cli_test::run_program("/usr/bin/python3", {"-c", code}, input,
                               {{"PYTHONPATH", reference_pythonpath()}});
}

bool reference_available() {
  if (reference_pythonpath().empty()) {
    MESSAGE("skipped: ../shared/reference is not there (a clone without it)");
    return false;
  }
  if (python("import nacl, netaio").code != 0) {
    MESSAGE("skipped: the reference needs python3 with PyNaCl (python3-nacl)");
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("frames cross to and from the Python reference") {
  if (!reference_available()) return;
  SUBCASE("encode (HMAC + stream cipher) decodes, checks and decrypts in the reference") {
    const result e = cli({"encode", "--type", "CREATE_URI", "--uri", "notes/1", "--content",
                          "from C++", "--hmac-secret", "mac", "--cipher-key", "key", "--hex"});
    REQUIRE(e.code == 0);
    const result py = python(R"(
import sys
from netaio import Message, HMACAuthPlugin, Sha256StreamCipherPlugin
m = Message.decode(bytes.fromhex(sys.stdin.read().strip()))
assert HMACAuthPlugin({'secret': 'mac'}).check(m.auth_data, m.body)
p = Sha256StreamCipherPlugin({'key': 'key'}).decrypt(m)
print(p.header.message_type.name, p.body.uri.decode(), p.body.content.decode())
)",
                             e.out);
    CHECK_MESSAGE(py.code == 0, py.err);
    CHECK(py.out == "CREATE_URI notes/1 from C++\n");
  }
  SUBCASE("decode reads, checks and opens a frame the reference made") {
    const result py = python(R"(
from netaio import Message, Body, MessageType, HMACAuthPlugin, Sha256StreamCipherPlugin
m = Message.prepare(Body.prepare(b'from Python', b'echo'), MessageType.REQUEST_URI)
m = Sha256StreamCipherPlugin({'key': 'key'}).encrypt(m)
HMACAuthPlugin({'secret': 'mac'}).make(m.auth_data, m.body)
print(m.encode().hex())
)");
    REQUIRE_MESSAGE(py.code == 0, py.err);
    const result d =
        cli({"decode", "--hex", "--hmac-secret", "mac", "--cipher-key", "key"}, py.out);
    CHECK_MESSAGE(d.code == 0, d.err);
    CHECK(d.out.starts_with("type: REQUEST_URI (0)\n"));
    CHECK(d.out.find("opened: ok\nplain_uri: b'echo'\nplain_content: b'from Python'\n") !=
          std::string::npos);
  }
}
