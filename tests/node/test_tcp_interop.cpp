// Interop with the reference Python netaio (../shared/reference), both
// ways: our tcp_server answering its TCPClient (interop/ref_client.py), and
// our tcp_client talking to its TCPServer (interop/ref_server.py) — echo,
// CRUD, NOT_FOUND, subscribe/notify, a forged HMAC — plain, HMAC, HMAC +
// stream cipher, two HMAC layers. Skipped, saying why, when the
// reference, python3 or PyNaCl is missing. Real time (the Python side runs
// on the wall clock), every wait bounded.
#include "node/tcp_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

extern char** environ;

using namespace tcp_test;

namespace {

const std::string reference_dir = NETAIO_REFERENCE_DIR;
const std::string script = NETAIO_INTEROP_DIR "/ref_client.py";
const std::string server_script = NETAIO_INTEROP_DIR "/ref_server.py";

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// NETAIO_TEST_PYTHONPATH, when set, comes first (a local PyNaCl, say).
std::string python_path() {
  const char* extra = std::getenv("NETAIO_TEST_PYTHONPATH");
  return (extra != nullptr ? std::string(extra) + ":" : std::string()) + reference_dir +
         "/packify:" + reference_dir + "/netaio:" + reference_dir + "/tapescript";
}

// A python3 that can import PyNaCl: Debian's first (python3-nacl installs
// there), since the python3 first on PATH may be another build (pyenv) that
// does not see Debian's packages. Empty if none can.
const std::string& python() {
  static const std::string chosen = [] {
    for (const char* candidate : {"/usr/bin/python3", "python3"}) {
      const std::string probe =
          "PYTHONPATH='" + python_path() + "' " + candidate + " -c 'import nacl' >/dev/null 2>&1";
      if (std::system(probe.c_str()) == 0) return std::string(candidate);
    }
    return std::string();
  }();
  return chosen;
}

// Why the interop cannot run here, or empty.
std::string missing() {
  if (!exists(reference_dir + "/netaio/netaio/client.py"))
    return "the reference netaio is absent (" + reference_dir + ")";
  if (python().empty())
    return "no python3 with PyNaCl (scripts/deps.sh test installs python3-nacl)";
  return {};
}

// Runs `script` with `args`; its stdout goes to `out_fd` when given.
pid_t spawn_script(const std::string& script_path, const std::vector<std::string>& args,
                   int out_fd = -1) {
  const std::string env_path = "PYTHONPATH=" + python_path();
  std::vector<std::string> env_strings{env_path};
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string_view(*e).rfind("PYTHONPATH=", 0) != 0) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{python(), script_path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (out_fd >= 0) ::posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  pid_t pid = -1;
  const int rc =
      ::posix_spawnp(&pid, argv_strings[0].c_str(), &actions, nullptr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

pid_t spawn_python(std::uint16_t port, const std::string& mode) {
  return spawn_script(script, {std::to_string(port), mode});
}

// The reference TCPServer (ref_server.py) in `mode`, and the port it
// printed; pid -1 or port 0 when it did not start within 30 s.
struct python_server {
  pid_t pid = -1;
  std::uint16_t port = 0;
};
python_server spawn_python_server(const std::string& mode) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  python_server s;
  s.pid = spawn_script(server_script, {mode}, fds[1]);
  ::close(fds[1]);
  // Read "port N\n", each wait bounded (a child that dies closes the pipe).
  std::string line;
  char c = 0;
  while (s.pid > 0 && line.find('\n') == std::string::npos) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 30000) != 1 || ::read(fds[0], &c, 1) != 1) break;
    line += c;
  }
  ::close(fds[0]);
  if (line.rfind("port ", 0) == 0) s.port = static_cast<std::uint16_t>(std::stoi(line.substr(5)));
  return s;
}

// The child's exit status, polling on the loop (bounded); kills it past `limit`.
task<int> wait_child(pid_t pid, std::chrono::seconds limit) {
  int status = 0;
  for (auto waited = 0ms; waited < limit; waited += 20ms) {
    if (::waitpid(pid, &status, WNOHANG) == pid)
      co_return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    co_await sleep_for(20ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  co_return -2;
}

plugin_layer<message> outer_for(const std::string& mode, std::string_view secret = "secret") {
  plugin_layer<message> l;
  if (mode == "plain") return l;
  hmac_auth_options o;
  if (mode == "two_hmac") o.hmac_field = "outer_hmac";
  l.auth = hmac_auth_plugin(secret, o);
  if (mode == "hmac_cipher") l.cipher = sha256_stream_cipher_plugin("key");
  return l;
}
plugin_layer<message> inner_for(const std::string& mode) {
  plugin_layer<message> l;
  if (mode == "two_hmac") l.auth = hmac_auth_plugin("inner secret");
  return l;
}

}  // namespace

TEST_CASE("interop: our tcp_server answers the reference TCPClient") {
  const std::string why = missing();
  if (!why.empty()) {
    MESSAGE("skipped: " << why);
    return;
  }
  for (const std::string mode : {"plain", "hmac", "hmac_cipher", "two_hmac"}) {
    CAPTURE(mode);
    test::fd_baseline fds;
    {
      io_context io;
      io.run([&]() -> task<void> {
        tcp_server server(io, local_server());
        install_crud(server, std::make_shared<std::map<std::string, std::string>>(),
                     inner_for(mode));
        server.on(
            handler_key::of(message_type::subscribe_uri),
            [&server](message& m, tcp_connection& c) {
              server.subscribe(m.body().uri(), c);
              server.notify(m.body().uri(), make(message_type::notify_uri, "news", "news for you"));
              return message::prepare(body::prepare({}, m.body().uri()),
                                      message_type::confirm_subscribe);
            },
            inner_for(mode));
        server.set_plugins(outer_for(mode));
        const endpoint at = co_await server.start();
        const pid_t pid = spawn_python(at.port(), mode);
        REQUIRE(pid > 0);
        const int rc = co_await wait_child(pid, 60s);
        CHECK(rc == 0);
        co_await server.stop();
      }());
    }
    CHECK(fds.delta() == 0);
  }
}

TEST_CASE("interop: our tcp_client talks to the reference TCPServer") {
  const std::string why = missing();
  if (!why.empty()) {
    MESSAGE("skipped: " << why);
    return;
  }
  for (const std::string mode : {"plain", "hmac", "hmac_cipher", "two_hmac"}) {
    CAPTURE(mode);
    test::fd_baseline fds;
    const long frames = live_task_frames();
    const python_server py = spawn_python_server(mode);
    REQUIRE(py.pid > 0);
    if (py.port == 0) {
      int status = 0;
      ::kill(py.pid, SIGKILL);
      ::waitpid(py.pid, &status, 0);
      FAIL("the reference server printed no port");
    }
    {
      io_context io;
      io.run([&]() -> task<void> {
        const endpoint at{ip_address::loopback(), py.port};
        tcp_client_options o = client_for(at);
        o.request_timeout = 10s;
        o.connect_timeout = 10s;
        tcp_client client(io, o);
        client.set_plugins(outer_for(mode));
        auto notes = std::make_shared<std::vector<std::string>>();
        async_event noted;
        client.on(handler_key::of(message_type::notify_uri, "news"), [&, notes](message& m) {
          notes->push_back(content_of(m));
          noted.set();
        });
        co_await client.connect();
        const call_options<message> o_in{.inner = inner_for(mode)};
        message m = co_await client.request(as_bytes("echo"), o_in, as_bytes("hello"));
        CHECK(m.type() == message_type::respond_uri);
        CHECK(content_of(m) == "hello");
        m = co_await client.create(as_bytes("k"), as_bytes("v1"), o_in);
        CHECK(m.type() == message_type::ok);
        CHECK(content_of(co_await client.request(as_bytes("k"), o_in)) == "v1");
        CHECK((co_await client.update(as_bytes("k"), as_bytes("v2"), o_in)).type() ==
              message_type::ok);
        CHECK(content_of(co_await client.request(as_bytes("k"), o_in)) == "v2");
        m = co_await client.del(as_bytes("k"), o_in);
        CHECK(m.type() == message_type::ok);
        CHECK(content_of(m) == "deleted");
        CHECK((co_await client.request(as_bytes("k"), o_in)).type() == message_type::not_found);
        CHECK((co_await client.create(as_bytes("k"), as_bytes("v3"), o_in)).type() ==
              message_type::ok);
        CHECK((co_await client.create(as_bytes("k"), as_bytes("v4"), o_in)).type() ==
              message_type::error);
        // Several in flight at once to one uri: each its own answer.
        std::string a, b;
        co_await with_scope([&](task_scope& s) -> task<void> {
          s.spawn([&]() -> task<void> {
            a = content_of(co_await client.request(as_bytes("echo"), o_in, as_bytes("a")));
          });
          s.spawn([&]() -> task<void> {
            b = content_of(co_await client.request(as_bytes("echo"), o_in, as_bytes("b")));
          });
          co_return;
        });
        CHECK(a == "a");
        CHECK(b == "b");
        // subscribe: the server notifies each new subscriber.
        m = co_await client.subscribe(as_bytes("news"), o_in);
        CHECK(m.type() == message_type::confirm_subscribe);
        co_await with_timeout(10s, noted.wait());
        CHECK(*notes == std::vector<std::string>{"news for you"});
        CHECK((co_await client.unsubscribe(as_bytes("news"), o_in)).type() ==
              message_type::confirm_unsubscribe);

        if (mode != "plain") {
          // A forged seal: the reference answers with an unsealed
          // AUTH_ERROR; ours reports it at once.
          tcp_client bad(io, o);
          bad.set_plugins(outer_for(mode, "wrong"));
          co_await bad.connect();
          const auto t0 = io.now();
          try {
            (void)co_await bad.request(as_bytes("echo"), o_in);
            FAIL("a forged seal was answered");
          } catch (const authentication_failed& e) {
            CHECK(e.text() == "HMAC auth failed");
          }
          CHECK(io.now() - t0 < 5s);
          co_await bad.stop();
        }
        if (mode == "two_hmac") {
          // The outer seal right, the handler's inner one forged.
          const call_options<message> forged{.inner = {hmac_auth_plugin("wrong"), {}}};
          CHECK_THROWS_AS((void)co_await client.request(as_bytes("echo"), forged),
                          authentication_failed);
        }
        m = co_await client.request(as_bytes("quit"), o_in);
        CHECK(content_of(m) == "bye");
        co_await client.stop();
      }());
      CHECK(io.pending_operations() == 0);
    }
    int status = 0;
    for (int i = 0; i < 300 && ::waitpid(py.pid, &status, WNOHANG) != py.pid; ++i)
      ::poll(nullptr, 0, 100);  // bounded: 30 s, then killed
    if (::kill(py.pid, 0) == 0) {
      ::kill(py.pid, SIGKILL);
      ::waitpid(py.pid, &status, 0);
      FAIL("the reference server did not exit");
    }
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK(fds.delta() == 0);
    CHECK(live_task_frames() == frames);
  }
}
