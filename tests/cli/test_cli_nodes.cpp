// The netaio command's node-layer side, driven as subprocesses: `udp` nodes
// finding each other and saying who left, `udp-request` (echo, auth, no one
// there), `bench --json` against `serve` (its shape, never its speed),
// serve's second signal, -vv, the AEAD cipher, renamed auth fields, replay
// refusal, and — where ../shared/reference and PyNaCl exist — `serve`
// answering the reference's TCPClient and `request` talking to its
// TCPServer with HMAC + stream cipher. Every wait is on a line of output
// with a bound; none is a sleep.
#include <netaio/version.hpp>

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_support.hpp"

using cli_test::result;
using namespace std::chrono_literals;

namespace {

const std::string program = NETAIO_CLI_PATH;

result cli(const std::vector<std::string>& args, const std::string& input = {},
           const std::map<std::string, std::string>& env = {}) {
  return cli_test::run_program(program, args, input, env);
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// The address in a "listening on HOST:PORT" line, the program's first.
std::string started(cli_test::background& p, const std::string& host = "127.0.0.1") {
  const std::string line = p.next_line();
  REQUIRE_MESSAGE(line.starts_with("listening on " + host + ":"), "got: " << line);
  return line.substr(std::string("listening on ").size());
}

/// "peer ID-HEX HOST:PORT" split: {id, address}.
std::pair<std::string, std::string> peer_line(const std::string& line) {
  const auto a = line.find(' '), b = line.rfind(' ');
  REQUIRE_MESSAGE((line.starts_with("peer ") && a != b), "got: " << line);
  return {line.substr(a + 1, b - a - 1), line.substr(b + 1)};
}

/// A number of one JSON key (unique in `j`).
double json_number(const std::string& j, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const auto at = j.find(k);
  REQUIRE_MESSAGE(at != std::string::npos, "no key " << key << " in " << j);
  return std::strtod(j.c_str() + at + k.size(), nullptr);
}

/// A UDP port with nobody on it a moment ago.
std::string free_udp_address() {
  netaio::io_context io;
  auto s = netaio::udp_socket::bind(io, netaio::endpoint::parse("127.0.0.1:0"));
  return s.local_endpoint().to_string();
}

}  // namespace

TEST_CASE("udp: two advertising nodes find each other; SIGTERM stops one, the other says gone") {
  const std::vector<std::string> managed{"--advertise", "1",           "--peer-timeout",
                                         "1",           "--multicast", "224.0.0.1"};
  cli_test::background a(program,
                         std::vector<std::string>{"udp", "--listen", "127.0.0.1:0"} + managed);
  const std::string addr_a = started(a);
  cli_test::background b(
      program,
      std::vector<std::string>{"udp", "--listen", "127.0.0.1:0", "--peer", addr_a} + managed);
  const std::string addr_b = started(b);
  // b advertises to a by unicast; a adds b and answers PEER_DISCOVERED, so
  // each learns the other (a was given no --peer: the answer is enough).
  const auto [id_b, seen_b] = peer_line(a.line_starting("peer "));
  const auto [id_a, seen_a] = peer_line(b.line_starting("peer "));
  CHECK(seen_b == addr_b);
  CHECK(seen_a == addr_a);
  CHECK(id_a.size() == 32);  // 16 random bytes
  CHECK(id_b.size() == 32);
  CHECK(id_a != id_b);

  // A stopped node says DISCONNECT: the other forgets it at once.
  b.signal(SIGTERM);
  CHECK(b.wait() == 0);
  CHECK(a.line_starting("gone ") == "gone " + id_b);

  // One killed outright says nothing: it expires after --peer-timeout.
  cli_test::background c(
      program,
      std::vector<std::string>{"udp", "--listen", "127.0.0.1:0", "--peer", addr_a} + managed);
  const std::string addr_c = started(c);
  const auto [id_c, seen_c] = peer_line(a.line_starting("peer "));
  CHECK(seen_c == addr_c);
  c.signal(SIGKILL);
  CHECK(c.wait() == 128 + SIGKILL);
  CHECK(a.line_starting("gone ", 30s) == "gone " + id_c);

  a.signal(SIGINT);
  CHECK(a.wait() == 0);
  CHECK(a.next_line().empty());  // nothing after: no "gone" lines for its own stop
}

TEST_CASE("udp-request: echo from netaio udp, AUTH_ERROR, and nobody there") {
  SUBCASE("plain: the content comes back raw, exit 0; -v adds one summary line") {
    cli_test::background node(program, {"udp", "--listen", "127.0.0.1:0"});
    const std::string addr = started(node);
    result r = cli({"udp-request", addr, "echo", "hello"});
    CHECK(r.code == 0);
    CHECK(r.out == "hello");
    CHECK(r.err.empty());
    r = cli({"udp-request", addr, "any/uri", "-"}, std::string("bin\0ary\n", 8));
    CHECK(r.code == 0);
    CHECK(r.out == std::string("bin\0ary\n", 8));
    r = cli({"-v", "udp-request", addr, "echo"});
    CHECK(r.code == 0);
    CHECK(r.out.empty());
    CHECK(r.err.find("netaio: info: RESPOND_URI b'echo' 0 bytes in ") != std::string::npos);
    node.signal(SIGTERM);
    CHECK(node.wait() == 0);
  }
  SUBCASE("HMAC + stream cipher: the right secret echoes, a wrong one gets AUTH_ERROR (2)") {
    const std::vector<std::string> sec{"--hmac-secret", "udp secret", "--cipher-key", "k"};
    cli_test::background node(program,
                              std::vector<std::string>{"udp", "--listen", "127.0.0.1:0"} + sec);
    const std::string addr = started(node);
    result r = cli(std::vector<std::string>{"udp-request", addr, "echo", "sealed"} + sec);
    CHECK(r.code == 0);
    CHECK(r.out == "sealed");
    r = cli({"udp-request", addr, "echo", "x", "--hmac-secret", "guess", "--cipher-key", "k",
             "--timeout", "30"});
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err_lines().back() == "netaio: AUTH_ERROR: HMAC auth failed");
    r = cli({"udp-request", addr, "echo", "x", "--timeout", "30"});  // no secret at all
    CHECK(r.code == 2);
    CHECK(r.err == "netaio: AUTH_ERROR: HMAC auth failed\n");
    node.signal(SIGTERM);
    CHECK(node.wait() == 0);
  }
  SUBCASE("nobody listening: UDP cannot tell, so it is a timeout, exit 3") {
    const std::string addr = free_udp_address();
    const result r = cli({"udp-request", addr, "echo", "x", "--timeout", "0.5"});
    CHECK(r.code == 3);
    CHECK(r.out.empty());
    CHECK(r.err_lines().back() == "netaio: no answer from " + addr + " within 0.5 s");
  }
  SUBCASE("bad input: exit 64") {
    CHECK(cli({"udp-request", "nowhere", "echo"}).code == 64);
    CHECK(cli({"udp", "--advertise", "0.5"}).code == 64);
    CHECK(cli({"udp", "--multicast", "ff02::1", "--listen", "127.0.0.1:0"}).code == 64);
  }
}

TEST_CASE("udp: an address it cannot bind exits 4; SIGINT stops it with exit 0") {
  cli_test::background node(program, {"udp", "--listen", "127.0.0.1:0"});
  const std::string addr = started(node);
  // SO_REUSEADDR lets UDP sockets share a port: only an unbindable address fails.
  const result r = cli({"udp", "--listen", "192.0.2.1:0"});
  CHECK(r.code == 4);
  CHECK(r.err.starts_with("netaio: cannot listen on 192.0.2.1:0: "));
  node.signal(SIGINT);
  CHECK(node.wait() == 0);
}

TEST_CASE("bench --json against serve: every field, counts above 0, ordered percentiles") {
  const std::vector<std::string> sec{"--hmac-secret", "bench"};
  cli_test::background server(program,
                              std::vector<std::string>{"serve", "--listen", "127.0.0.1:0"} + sec);
  const std::string addr = started(server);
  const result r =
      cli(std::vector<std::string>{"bench", addr, "--connections", "2", "--inflight", "3", "--size",
                                   "100", "--duration", "1.5", "--json"} +
          sec);
  CHECK_MESSAGE(r.code == 0, r.err);
  // One JSON object on one line, nothing else on stdout.
  REQUIRE(r.out.starts_with("{"));
  CHECK(r.out.ends_with("}\n"));
  CHECK(r.out.find('\n') == r.out.size() - 1);
  CHECK(r.out.find("\"address\": \"" + addr + "\"") != std::string::npos);
  CHECK(json_number(r.out, "connections") == 2);
  CHECK(json_number(r.out, "inflight") == 3);
  CHECK(json_number(r.out, "size") == 100);
  CHECK(json_number(r.out, "duration_s") > 0);
  CHECK(json_number(r.out, "requests") > 0);
  CHECK(json_number(r.out, "errors") == 0);
  CHECK(json_number(r.out, "timeouts") == 0);
  CHECK(json_number(r.out, "requests_per_s") > 0);
  CHECK(r.out.find("\"interrupted\": false") != std::string::npos);
  const double p50 = json_number(r.out, "p50"), p90 = json_number(r.out, "p90"),
               p99 = json_number(r.out, "p99"), p999 = json_number(r.out, "p99_9"),
               max = json_number(r.out, "max"), mean = json_number(r.out, "mean");
  CHECK(p50 > 0);
  CHECK(p50 <= p90);
  CHECK(p90 <= p99);
  CHECK(p99 <= p999);
  CHECK(p999 <= max);
  CHECK(mean > 0);
  CHECK(mean <= max);
  // Not a terminal: plain progress lines on stderr, one a second.
  CHECK(r.err.find("\r") == std::string::npos);
  REQUIRE(!r.err_lines().empty());
  CHECK(r.err_lines()[0].find(" requests/s ") != std::string::npos);

  // The text form: four lines with the same fields.
  const result t = cli(std::vector<std::string>{"bench", addr, "--duration", "0.3"} + sec);
  CHECK(t.code == 0);
  CHECK(t.out.starts_with("bench " + addr + ": 4 connections x 1 in flight, 64-byte echo, "));
  CHECK(t.out.find("\nrequests: ") != std::string::npos);
  CHECK(t.out.find("\nrate: ") != std::string::npos);
  CHECK(t.out.find("\nlatency: p50 ") != std::string::npos);
  CHECK(t.out.find(" p99.9 ") != std::string::npos);

  // A wrong secret: no echo comes back, exit 2, the reason on stderr.
  const result bad = cli({"bench", addr, "--duration", "0.3", "--hmac-secret", "wrong"});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("netaio: last error: AUTH_ERROR") != std::string::npos);
  CHECK(bad.err.find("netaio: no request got its echo back") != std::string::npos);

  server.signal(SIGTERM);
  CHECK(server.wait() == 0);

  // Nobody there: exit 4.
  const result none = cli({"bench", addr, "--duration", "0.3"});
  CHECK(none.code == 4);
  CHECK(none.out.empty());
  CHECK(none.err.starts_with("netaio: cannot connect to " + addr + ": "));
}

TEST_CASE("serve: a second signal during the stop stops it at once, exit 0") {
  cli_test::background server(program, {"-v", "serve", "--listen", "127.0.0.1:0"});
  (void)started(server);
  // Two different signals (two SIGTERMs could merge into one pending):
  // the second is pending before the first stop can end.
  server.signal(SIGINT);
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
  const std::string err = server.drain_err();
  CHECK(err.find("netaio: info: signal 2: stopping") != std::string::npos);
  CHECK(err.find("netaio: info: second signal: stopping at once") != std::string::npos);
}

TEST_CASE("serve and udp: signals that keep coming until the process is gone still give exit 0") {
  // A signal landing after the stop, once the signal_set is gone, used to
  // end the process by the default action (status 143).
  for (const bool udp : {false, true}) {
    CAPTURE(udp);
    cli_test::background p(program,
                           udp ? std::vector<std::string>{"udp", "--listen", "127.0.0.1:0"}
                               : std::vector<std::string>{"serve", "--listen", "127.0.0.1:0"});
    (void)started(p);
    std::optional<int> code;
    const auto limit = std::chrono::steady_clock::now() + 60s;
    for (int i = 0; !code && std::chrono::steady_clock::now() < limit; ++i) {
      p.signal(i % 2 == 0 ? SIGTERM : SIGINT);
      std::this_thread::yield();
      code = p.try_wait();
    }
    REQUIRE(code.has_value());
    CHECK(*code == 0);
  }
}

TEST_CASE("subscribe: a signal while the subscription is unanswered ends it at once, exit 0") {
  auto arrived = std::make_shared<std::promise<void>>();
  auto subscribe_sent = arrived->get_future();
  cli_test::one_shot_server server(
      [arrived](netaio::framed_stream& fs, cli_test::server_log& log) -> netaio::task<void> {
        if (co_await cli_test::read_one(fs, log)) arrived->set_value();
        co_await cli_test::until_closed(fs);  // never answers
      });
  cli_test::background sub(program, {"subscribe", server.address(), "news", "--timeout", "600"});
  REQUIRE(subscribe_sent.wait_for(60s) == std::future_status::ready);
  sub.signal(SIGTERM);  // not left waiting for --timeout
  CHECK(sub.wait() == 0);
  const cli_test::server_log& log = server.join();
  CHECK(log.failure == "");
  REQUIRE(log.received.size() == 1);
  CHECK(log.received[0].type() == netaio::message_type::subscribe_uri);
}

TEST_CASE("udp: a second signal during the stop stops it at once, exit 0") {
  cli_test::background node(program, {"-v", "udp", "--listen", "127.0.0.1:0", "--advertise", "1",
                                      "--peer", free_udp_address()});
  (void)started(node);
  node.signal(SIGINT);
  node.signal(SIGTERM);
  CHECK(node.wait() == 0);
  const std::string err = node.drain_err();
  CHECK(err.find("netaio: info: signal 2: stopping") != std::string::npos);
  CHECK(err.find("netaio: info: second signal: stopping at once") != std::string::npos);
}

TEST_CASE("-vv adds debug lines to -v's") {
  cli_test::background server(program, {"serve", "--listen", "127.0.0.1:0"});
  const std::string addr = started(server);
  const result v = cli({"-v", "request", addr, "echo", "--content", "x"});
  const result vv = cli({"-vv", "request", addr, "echo", "--content", "x"});
  CHECK(v.code == 0);
  CHECK(vv.code == 0);
  CHECK(v.err.find("debug:") == std::string::npos);
  CHECK(vv.err.find("netaio: debug: connected to " + addr) != std::string::npos);
  CHECK(vv.err.find("netaio: debug: sent REQUEST_URI b'echo' with 1 bytes as a ") !=
        std::string::npos);
  CHECK(vv.err.find("netaio: info: RESPOND_URI b'echo' 1 bytes in ") != std::string::npos);
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
}

TEST_CASE("--aead-key: request against serve --aead-key, the key from NETAIO_AEAD_KEY too") {
  const std::string key = "an AEAD key of 32 bytes, exactly";
  cli_test::background server(program, {"serve", "--listen", "127.0.0.1:0"},
                              {{"NETAIO_AEAD_KEY", key}});
  const std::string addr = started(server);
  result r = cli({"request", addr, "echo", "--content", "aead", "--aead-key", key});
  CHECK(r.code == 0);
  CHECK(r.out == "aead");
  r = cli({"create", addr, "n", "stored sealed"}, {}, {{"NETAIO_AEAD_KEY", key}});
  CHECK(r.code == 0);
  r = cli({"request", addr, "n"}, {}, {{"NETAIO_AEAD_KEY", key}});
  CHECK(r.out == "stored sealed");
  // Another key: the server cannot open it and answers nothing.
  r = cli({"request", addr, "echo", "--aead-key", "another key, 16+ bytes", "--timeout", "1"});
  CHECK(r.code == 3);
  CHECK(r.out.empty());
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
}

TEST_CASE("--hmac-field and --iv-field rename the auth fields, end to end") {
  const std::vector<std::string> sec{"--hmac-secret", "s", "--hmac-field", "sig",
                                     "--cipher-key",  "k", "--iv-field",   "salt"};
  const result e = cli(std::vector<std::string>{"encode", "--type", "REQUEST_URI", "--uri", "echo",
                                                "--content", "hi", "--hex"} +
                       sec);
  REQUIRE(e.code == 0);
  const result d = cli(std::vector<std::string>{"decode", "--hex"} + sec, e.out);
  CHECK(d.code == 0);
  CHECK(d.out.find("'sig': b") != std::string::npos);
  CHECK(d.out.find("'salt': b") != std::string::npos);
  CHECK(d.out.find("'hmac'") == std::string::npos);
  CHECK(d.out.find("'iv'") == std::string::npos);
  CHECK(d.out.find("plain_content: b'hi'") != std::string::npos);

  cli_test::background server(program,
                              std::vector<std::string>{"serve", "--listen", "127.0.0.1:0"} + sec);
  const std::string addr = started(server);
  result r = cli(std::vector<std::string>{"request", addr, "echo", "--content", "renamed"} + sec);
  CHECK(r.code == 0);
  CHECK(r.out == "renamed");
  // The default names: the server finds no "sig" and refuses.
  r = cli({"request", addr, "echo", "--hmac-secret", "s", "--cipher-key", "k"});
  CHECK(r.code == 2);
  CHECK(r.err == "netaio: AUTH_ERROR: HMAC auth failed\n");
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
}

TEST_CASE("--replay-window: serve refuses a sealed frame sent twice (send --frame)") {
  const std::vector<std::string> sec{"--hmac-secret", "replay"};
  cli_test::background server(
      program,
      std::vector<std::string>{"serve", "--listen", "127.0.0.1:0", "--replay-window", "30"} + sec);
  const std::string addr = started(server);
  const result frame = cli(std::vector<std::string>{"encode", "--type", "REQUEST_URI", "--uri",
                                                    "echo", "--content", "once"} +
                           sec);
  REQUIRE(frame.code == 0);
  const std::vector<std::string> send{"send", addr, "--frame", "-", "--count", "1", "--wait", "30"};
  result r = cli(send + sec, frame.out);
  CHECK(r.code == 0);
  CHECK(r.out == "RESPOND_URI echo 6f6e6365\n");  // "once"
  r = cli(send + sec, frame.out);                 // the very same bytes again
  CHECK(r.code == 0);
  CHECK(r.out.starts_with("AUTH_ERROR "));
  // A freshly sealed one still passes.
  r = cli(std::vector<std::string>{"request", addr, "echo", "--content", "twice"} + sec);
  CHECK(r.code == 0);
  CHECK(r.out == "twice");
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
  CHECK(cli({"send", addr, "--frame", "-"}, "not a frame").code == 64);
  CHECK(cli({"send", addr, "--uri", "x"}).code == 64);  // neither --type nor --frame
}

namespace {

// The reference (Python netaio) and a python3 with PyNaCl, when both are here.
const std::string reference_dir = std::string(NETAIO_SOURCE_ROOT) + "/../shared/reference";
const std::string interop_dir = std::string(NETAIO_SOURCE_ROOT) + "/tests/node/interop";

std::map<std::string, std::string> python_env() {
  return {{"PYTHONPATH", reference_dir + "/packify:" + reference_dir + "/netaio:" + reference_dir +
                             "/tapescript"}};
}

// Debian's python3 first (python3-nacl installs there): the python3 first on
// PATH may be another build that does not see Debian's packages.
std::string python_with_nacl() {
  for (const char* candidate : {"/usr/bin/python3", "/usr/local/bin/python3"}) {
    struct stat st {};
    if (::stat(candidate, &st) != 0) continue;
    if (cli_test::run_program(candidate, {"-c", "import nacl, netaio"}, {}, python_env()).code == 0)
      return candidate;
  }
  return {};
}

// The python3 to use, or empty after saying why the test is skipped.
std::string reference_python() {
  struct stat st {};
  if (::stat((reference_dir + "/netaio/netaio/client.py").c_str(), &st) != 0) {
    MESSAGE("skipped: the reference netaio is absent (" << reference_dir << ")");
    return {};
  }
  const std::string py = python_with_nacl();
  if (py.empty()) MESSAGE("skipped: no python3 with PyNaCl (python3-nacl) for the reference");
  return py;
}

}  // namespace

TEST_CASE("interop: serve answers the reference TCPClient (HMAC + stream cipher)") {
  const std::string py = reference_python();
  if (py.empty()) return;
  // ref_cli_client.py seals with secret "secret" and key "key".
  cli_test::background server(program, {"serve", "--listen", "127.0.0.1:0", "--hmac-secret",
                                        "secret", "--cipher-key", "key"});
  const std::string addr = started(server);
  const std::string port = addr.substr(addr.rfind(':') + 1);
  const result r = cli_test::run_program(
      py, {std::string(NETAIO_SOURCE_ROOT) + "/tests/cli/ref_cli_client.py", port}, {},
      python_env());
  CHECK_MESSAGE(r.code == 0, r.out << r.err);
  for (const char* step : {"echo ok", "create ok", "create again ok", "read ok", "update ok",
                           "delete ok", "not found ok", "notify ok", "forged hmac ok"})
    CHECK_MESSAGE(r.out.find(std::string(step) + "\n") != std::string::npos, step << "\n" << r.out);
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
}

TEST_CASE("interop: request, create, update, delete talk to the reference TCPServer") {
  const std::string py = reference_python();
  if (py.empty()) return;
  // ref_server.py prints "port N" when it listens; "quit" ends it (exit 0).
  cli_test::background server(py, {interop_dir + "/ref_server.py", "hmac_cipher"}, python_env());
  const std::string line = server.next_line();
  REQUIRE_MESSAGE(line.starts_with("port "), "got: " << line << server.drain_err());
  const std::string addr = "127.0.0.1:" + line.substr(5);
  const std::vector<std::string> sec{"--hmac-secret", "secret", "--cipher-key", "key"};
  auto run = [&](std::vector<std::string> args, const std::string& input = {}) {
    return cli(args + sec, input);
  };
  result r = run({"request", addr, "echo", "--content", "from the C++ command"});
  CHECK(r.code == 0);
  CHECK(r.out == "from the C++ command");
  CHECK(run({"create", addr, "k", "v1"}).out == "stored");
  CHECK(run({"create", addr, "k", "again"}).code == 2);  // ERROR: cannot overwrite
  CHECK(run({"request", addr, "k"}).out == "v1");
  CHECK(run({"update", addr, "k", "-"}, "v2").code == 0);
  CHECK(run({"request", addr, "k"}).out == "v2");
  CHECK(run({"delete", addr, "k"}).out == "deleted");
  r = run({"request", addr, "k"});
  CHECK(r.code == 1);  // NOT_FOUND
  CHECK(r.out.empty());
  // A wrong secret: the reference answers an unsealed AUTH_ERROR.
  r = cli(
      {"request", addr, "echo", "--hmac-secret", "wrong", "--cipher-key", "key", "--timeout", "5"});
  CHECK((r.code == 2 || r.code == 3));
  CHECK(run({"request", addr, "quit"}).out == "bye");
  CHECK(server.wait() == 0);
}
