// Live interop with the reference Python UDPNode (../shared/reference): echo
// both ways with HMAC + stream cipher on, and discovery both ways. Runs in
// real time on loopback, every wait bounded; skips, saying why, where the
// reference or PyNaCl is absent.
#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/node.hpp>
#include <netaio/plugins.hpp>

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "node/udp_support.hpp"

using namespace netaio;
using namespace std::chrono_literals;
using namespace node_test;

namespace {

const std::filesystem::path source_root = NETAIO_SOURCE_ROOT;
const std::filesystem::path reference = source_root / ".." / "shared" / "reference";

std::string python_path() {
  return (reference / "packify").string() + ":" + (reference / "netaio").string() + ":" +
         (reference / "tapescript").string();
}

/// A python3 that can import the reference and nacl, or why there is none.
std::string find_python(std::string& why) {
  if (!std::filesystem::exists(reference / "netaio" / "netaio" / "node.py")) {
    why = "the reference implementation is absent (" + reference.string() + ")";
    return {};
  }
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    const std::string cmd = std::string("PYTHONPATH='") + python_path() + "' " + py +
                            " -c 'import nacl, netaio' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  why = "no python3 here imports nacl and the reference netaio (apt-get install python3-nacl)";
  return {};
}

/// The Python peer: a child process whose stdout lines a thread hands to the
/// loop. Closing its stdin asks it to end; finish() bounds that.
///
/// Lifetimes: what the reader thread posts to the loop holds the line queue
/// and its event through a shared_ptr, never `this`, so a post that runs
/// after the python_peer is gone (one made just before finish() joined the
/// thread, still queued in the io_context) touches only that shared state.
/// The thread is joined before the python_peer goes, so the last owner of
/// the state is on the loop's thread: the python_peer, or the last post.
class python_peer {
 public:
  python_peer(io_context& io, const std::string& py, std::vector<std::string> args)
      : io_(&io), state_(std::make_shared<shared_state>()) {
    int out[2], in[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 2);  // its log; rerun by hand to see it
      ::setenv("PYTHONPATH", python_path().c_str(), 1);
      std::vector<char*> argv{const_cast<char*>(py.c_str())};
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    stdin_ = in[1];
    reader_ = std::thread([st = state_, io = io_, fd = out[0]] {
      std::string line;
      char c;
      while (::read(fd, &c, 1) == 1) {
        if (c != '\n') {
          line += c;
          continue;
        }
        io->post([st, l = std::move(line)] {
          st->lines.push_back(l);
          st->arrived.set();
        });
        line.clear();
      }
      ::close(fd);
    });
  }
  python_peer(const python_peer&) = delete;
  python_peer& operator=(const python_peer&) = delete;
  ~python_peer() { finish(); }

  /// The next line starting with `prefix` (earlier others are skipped), or
  /// "" if none comes within `limit`.
  task<std::string> line(std::string_view prefix, std::chrono::seconds limit = 20s) {
    const auto deadline = io_->now() + limit;
    shared_state& st = *state_;
    for (;;) {
      while (!st.lines.empty()) {
        std::string l = std::move(st.lines.front());
        st.lines.pop_front();
        if (l.starts_with(prefix)) co_return l.substr(prefix.size());
      }
      st.arrived.reset();
      const auto left = deadline - io_->now();
      if (left <= event_loop::duration::zero()) co_return std::string();
      if (!co_await move_on_after(left, st.arrived.wait())) co_return std::string();
    }
  }

  /// Closes its stdin, waits for it to exit (at most 10 s, then kills it),
  /// and joins the reader (which sees the end of its stdout).
  void finish() {
    if (stdin_ >= 0) ::close(std::exchange(stdin_, -1));
    if (pid_ > 0) {
      if (!exited_within(10s)) ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (reader_.joinable()) reader_.join();
  }

 private:
  struct shared_state {
    std::deque<std::string> lines;
    async_event arrived;
  };

  // Whether the child exits within `limit`: a pidfd becomes readable when it
  // does (no polling). Without pidfd_open (Linux < 5.3) it is killed at once.
  bool exited_within(std::chrono::milliseconds limit) const {
#ifdef SYS_pidfd_open
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
#else
    const int pidfd = -1;
#endif
    if (pidfd < 0) return false;
    pollfd p{pidfd, POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, static_cast<int>(limit.count()));
    } while (r < 0 && errno == EINTR);
    ::close(pidfd);
    return r == 1;
  }

  io_context* io_;
  std::shared_ptr<shared_state> state_;
  pid_t pid_ = -1;
  int stdin_ = -1;
  std::thread reader_;
};

}  // namespace

TEST_CASE("interop with the reference UDPNode: echo both ways with HMAC + cipher, discovery") {
  std::string why;
  const std::string py = find_python(why);
  if (py.empty()) {
    const std::string note = "SKIPPED: " + why;
    MESSAGE(note);
    return;
  }
  log_capture log;
  io_context io;  // real time: the other side is a real process
  io.run([&]() -> task<void> {
    udp_node_options o = loopback(log);
    async_event logged;  // set by every record of the node's log
    o.log = logger(
        [&](log_level l, std::string_view text, const std::optional<peer_address>& p) {
          log.records.push_back({l, std::string(text), p});
          logged.set();
        },
        log_level::debug);
    o.plugins = {hmac_auth_plugin("interop secret"), sha256_stream_cipher_plugin("interop key")};
    peer me;
    me.id = to_buffer(as_bytes("cpp-node"));
    me.data = byte_buffer{};
    o.local_peer = me;
    udp_node node(io, std::move(o));
    node.start();
    int echoed = 0;
    node.on(handler_key::of(message_type::request_uri, "echo"), [&](message& m) {
      ++echoed;
      return make(message_type::respond_uri, "echo", content_of(m));
    });
    python_peer python(
        io, py,
        {(source_root / "tests/node/interop/udp_peer.py").string(),
         std::to_string(node.local_endpoint().port()), "interop secret", "interop key"});
    co_await then_stop(
        [&]() -> task<void> {
          const std::string port = co_await python.line("PORT ");
          REQUIRE_MESSAGE(!port.empty(), "the Python node did not start");
          const endpoint there{ip_address::loopback(), static_cast<std::uint16_t>(std::stoi(port))};

          // C++ -> Python echo.
          udp_node::request_options req;
          req.content = to_buffer(as_bytes("from c++"));
          req.timeout = 5s;
          message got = co_await node.request("echo", there, req);
          CHECK(got.type() == message_type::respond_uri);
          CHECK(content_of(got) == "from c++");

          // Python -> C++ echo.
          const std::string echo = co_await python.line("ECHO ");
          CHECK(echo == "RESPOND_URI from python");
          CHECK(echoed >= 1);

          // Discovery: we advertise to it; it answers PEER_DISCOVERED.
          udp_node::peer_management_options pm;
          pm.advertise_every = 1s;
          pm.advertise_to = {there};
          node.manage_peers_automatically(pm);
          const std::string found = co_await python.line("DISCOVERED ");
          CHECK(found == "6370702d6e6f6465");  // "cpp-node"
          // It answers our advertisement with PEER_DISCOVERED: wait for the
          // node to log (each record wakes us) until it knows the Python
          // node, 10 s at most.
          auto knows_python = [&] {
            return node.peers().get(std::nullopt, to_buffer(as_bytes("python-node"))) != nullptr;
          };
          const auto deadline = io.now() + 10s;
          while (!knows_python()) {
            logged.reset();
            const auto left = deadline - io.now();
            if (left <= event_loop::duration::zero() ||
                !co_await move_on_after(left, logged.wait()))
              break;
          }
          CHECK(knows_python());
        }(),
        node);
    python.finish();
    CHECK(log.at(log_level::error).empty());
  }());
}
