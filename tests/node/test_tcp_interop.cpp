// Interop with the reference Python netaio (../shared/reference): our
// tcp_server answering its TCPClient (tests/node/interop/ref_client.py) —
// echo, CRUD, NOT_FOUND, subscribe/notify, a forged HMAC — plain, HMAC,
// HMAC + stream cipher, two HMAC layers. Skipped, saying why, when the
// reference, python3 or PyNaCl is missing. Real time (the Python side runs
// on the wall clock), every wait bounded.
#include "node/tcp_support.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>

extern char** environ;

using namespace tcp_test;

namespace {

const std::string reference_dir = NETAIO_REFERENCE_DIR;
const std::string script = NETAIO_INTEROP_DIR "/ref_client.py";

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
      const std::string probe = "PYTHONPATH='" + python_path() + "' " + candidate +
                                " -c 'import nacl' >/dev/null 2>&1";
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

pid_t spawn_python(std::uint16_t port, const std::string& mode) {
  const std::string env_path = "PYTHONPATH=" + python_path();
  std::vector<std::string> env_strings{env_path};
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string_view(*e).rfind("PYTHONPATH=", 0) != 0) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string py = python(), port_s = std::to_string(port), m = mode, sc = script;
  char* argv[] = {py.data(), sc.data(), port_s.data(), m.data(), nullptr};
  pid_t pid = -1;
  if (::posix_spawnp(&pid, py.c_str(), nullptr, nullptr, argv, envp.data()) != 0) return -1;
  return pid;
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
