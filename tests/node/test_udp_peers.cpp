// UDP node peers: discovery by advertisement, expiry with and without a
// grace period (on the virtual clock, so times are exact), removal from
// inside a broadcast and a handler, DISCONNECT on stop, X25519 under HMAC.
#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/node.hpp>
#include <netaio/plugins.hpp>

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "node/udp_support.hpp"
#include "support/io_run.hpp"

using namespace netaio;
using namespace std::chrono_literals;
using namespace node_test;

namespace {

peer named(std::string_view id, byte_buffer data = {}) {
  peer p;
  p.id = to_buffer(as_bytes(id));
  p.data = data.empty() ? default_peer_plugin().encode_data(packify::value::dict({})) : data;
  return p;
}

udp_node_options with_peer(log_capture& log, std::string_view id) {
  udp_node_options o = loopback(log);
  o.local_peer = named(id);
  return o;
}

bool knows(udp_node& n, std::string_view id) {
  return n.peers().get(std::nullopt, to_buffer(as_bytes(id))) != nullptr;
}

/// Peer management that advertises to `others` by unicast.
udp_node::peer_management_options managed(std::vector<udp_node*> others,
                                          std::chrono::seconds grace = 30s) {
  udp_node::peer_management_options o;
  o.grace = grace;
  for (auto* n : others)
    o.advertise_to.push_back(n->local_endpoint());
  return o;
}

/// Sleeps on the virtual clock until `pred()` or `limit`; whether it held.
task<bool> eventually(std::function<bool()> pred, std::chrono::seconds limit = 60s) {
  for (auto waited = 0ms; waited < limit; waited += 100ms) {
    if (pred()) co_return true;
    co_await sleep_for(100ms);
  }
  co_return pred();
}

/// An ADVERTISE_PEER of peer `id`, sent once from a bare socket: a peer that
/// then falls silent.
task<void> advertise_once(udp_socket& s, const endpoint& to, std::string_view id) {
  message m = make_peer_msg<message>(message_type::advertise_peer, named(id), default_peer_plugin(),
                                     as_bytes("netaio"));
  co_await s.send_to(m.encode(), to);
}

}  // namespace

TEST_CASE("two and three nodes discover each other") {
  log_capture la, lb, lc;
  test::run_io_checked([&](io_context& io) -> task<void> {
    udp_node a(io, with_peer(la, "a")), b(io, with_peer(lb, "b")), c(io, with_peer(lc, "c"));
    a.start();
    b.start();
    c.start();
    co_await then_stop(
        [&]() -> task<void> {
          a.manage_peers_automatically(managed({&b}));
          b.manage_peers_automatically(managed({&a}));
          CHECK(co_await eventually([&] { return knows(a, "b") && knows(b, "a"); }));
          CHECK(io.now() < event_loop::time_point(1s));  // the first round did it
          // A third node that knows only a: a answers its ADVERTISE_PEER, and
          // b learns of c when c advertises to it too.
          c.manage_peers_automatically(managed({&a, &b}));
          CHECK(co_await eventually(
              [&] { return knows(a, "c") && knows(b, "c") && knows(c, "a") && knows(c, "b"); }));
          CHECK(a.peers().size() == 2);
          CHECK(!knows(a, "a"));  // never itself
        }(),
        a, b, c);
  });
}

TEST_CASE("a silent peer expires after timeout + grace, at the advertise round after") {
  for (const auto grace : {0s, 30s}) {
    CAPTURE(grace.count());
    log_capture la;
    test::run_io_checked([&](io_context& io) -> task<void> {
      udp_node a(io, with_peer(la, "a"));
      a.start();
      auto ghost = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
      co_await then_stop(
          [&]() -> task<void> {
            auto o = managed({}, grace);
            o.advertise_every = 10s;
            o.peer_timeout = 60s;
            a.manage_peers_automatically(o);  // rounds at 0, 10, 20, ...
            co_await advertise_once(ghost, a.local_endpoint(), "ghost");  // heard at t = 0
            CHECK(co_await eventually([&] { return knows(a, "ghost"); }, 1s));
            a.subscribe("topic", to_peer_address(ghost.local_endpoint()));
            // Silent for more than timeout + grace: gone at the first round after.
            const auto gone_at = 60s + grace + 10s;
            co_await sleep_for(gone_at - 1s - (io.now() - event_loop::time_point{}));
            CHECK(knows(a, "ghost"));
            co_await sleep_for(2s);
            CHECK(!knows(a, "ghost"));
            CHECK(a.subscribers("topic").empty());  // unsubscribed from every uri
            CHECK(la.has(log_level::info, "peer expired"));
          }(),
          a);
    });
  }
}

TEST_CASE("a peer heard from again within the grace period is kept") {
  log_capture la;
  test::run_io_checked([&](io_context& io) -> task<void> {
    udp_node a(io, with_peer(la, "a"));
    a.start();
    auto ghost = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
    co_await then_stop(
        [&]() -> task<void> {
          auto o = managed({}, 30s);
          o.advertise_every = 10s;
          a.manage_peers_automatically(o);
          co_await advertise_once(ghost, a.local_endpoint(), "ghost");
          co_await sleep_for(75s);  // stale (past 60 s), within the grace
          CHECK(a.peers().is_stale(*a.peers().get(std::nullopt, to_buffer(as_bytes("ghost"))),
                                   a.now_seconds()));
          co_await advertise_once(ghost, a.local_endpoint(), "ghost");
          co_await sleep_for(40s);  // past the first one's timeout + grace
          CHECK(knows(a, "ghost"));
        }(),
        a);
  });
}

namespace {

/// A peer-specific auth plugin that runs `hook` on every make(): lets a test
/// change the peer table while a broadcast is preparing its messages.
struct hooked_auth {
  std::shared_ptr<std::function<void(const plugin_context&)>> hook;
  void make(auth_fields& a, const body&, const plugin_context& ctx) const {
    (*hook)(ctx);
    a.set("hooked", as_bytes("1"));
  }
  bool check(const auth_fields&, const body&, const plugin_context&) const { return true; }
  static bool is_peer_specific() { return true; }
  message error() const { return make_error_msg<message>("auth"); }
};

}  // namespace

TEST_CASE("peers removed and expired from inside a broadcast and a handler") {
  log_capture la, lb;
  test::run_io_checked([&](io_context& io) -> task<void> {
    udp_node a(io, with_peer(la, "a")), b(io, with_peer(lb, "b"));
    a.start();
    b.start();
    co_await then_stop(
        [&]() -> task<void> {
          const std::int64_t t = a.now_seconds();
          for (int i = 0; i < 5; ++i)
            a.peers().add_or_update(to_buffer(as_bytes("p" + std::to_string(i))), std::nullopt,
                                    {"127.0.0.1", static_cast<std::uint16_t>(40000 + i)}, t);
          a.peers().add_or_update(to_buffer(as_bytes("b")), std::nullopt,
                                  to_peer_address(b.local_endpoint()), t);
          // While the broadcast seals for its first peer (b: peers go in id
          // order), p1..p4 go; p0 stays.
          auto hook = std::make_shared<std::function<void(const plugin_context&)>>();
          int sealed = 0;
          *hook = [&](const plugin_context& ctx) {
            ++sealed;
            if (sealed != 1) return;
            CHECK((ctx.remote && *ctx.remote->id == to_buffer(as_bytes("b"))));
            for (int i = 1; i < 5; ++i)
              a.peers().remove(to_buffer(as_bytes("p" + std::to_string(i))));
          };
          udp_node::send_options o;
          o.inner.auth = hooked_auth{hook};
          const std::size_t sent = co_await a.broadcast(make(message_type::notify_uri, "x"), o);
          CHECK(sent == 2);  // b and p0: the removed were not visited
          CHECK(sealed == 2);
          CHECK(a.peers().size() == 2);

          // A handler that expires peers: b's peers are stale by then.
          b.peers().add_or_update(to_buffer(as_bytes("old")), std::nullopt, {"127.0.0.1", 40100},
                                  b.now_seconds());
          b.peers().set_options({.timeout = 5, .grace = 0});
          b.on(handler_key::of(message_type::request_uri, "expire"), [&](message&) {
            const auto gone = b.expire_peers();
            return make(message_type::respond_uri, "expire", std::to_string(gone.size()));
          });
          co_await sleep_for(10s);
          message got = co_await a.request("expire", b.local_endpoint());
          CHECK(content_of(got) == "1");
          CHECK(!knows(b, "old"));
        }(),
        a, b);
  });
}

TEST_CASE("stop sends DISCONNECT; so does stop_peer_management") {
  log_capture la, lb, lc;
  test::run_io_checked([&](io_context& io) -> task<void> {
    udp_node a(io, with_peer(la, "a")), b(io, with_peer(lb, "b")), c(io, with_peer(lc, "c"));
    a.start();
    b.start();
    c.start();
    co_await then_stop(
        [&]() -> task<void> {
          a.manage_peers_automatically(managed({&b, &c}));
          b.manage_peers_automatically(managed({&a, &c}));
          c.manage_peers_automatically(managed({&a, &b}));
          CHECK(co_await eventually([&] {
            return a.peers().size() == 2 && b.peers().size() == 2 && c.peers().size() == 2;
          }));
          co_await a.stop();
          CHECK(a.peers().empty());  // no peer state left
          CHECK(!a.running());
          CHECK(co_await eventually([&] { return !knows(b, "a") && !knows(c, "a"); }, 1s));
          co_await c.stop_peer_management();
          CHECK(co_await eventually([&] { return !knows(b, "c"); }, 1s));
        }(),
        a, b, c);
  });
}

TEST_CASE("X25519 as the inner layer under HMAC, keys from peer data") {
  log_capture la, lb;
  test::run_io_checked([&](io_context& io) -> task<void> {
    const x25519_cipher_plugin xa(byte_buffer(32, 1)), xb(byte_buffer(32, 2));
    auto opts = [](log_capture& l, std::string_view id, const x25519_cipher_plugin& x) {
      udp_node_options o = loopback(l);
      o.plugins.auth = hmac_auth_plugin("shared");
      o.local_peer = named(id, default_peer_plugin().encode_data(packify::value::dict(
                                   {{"pubkey", packify::value::bytes(x.public_key())}})));
      return o;
    };
    udp_node a(io, opts(la, "a", xa)), b(io, opts(lb, "b", xb));
    a.start();
    b.start();
    co_await then_stop(
        [&]() -> task<void> {
          a.manage_peers_automatically(managed({&b}));
          b.manage_peers_automatically(managed({&a}));
          CHECK(co_await eventually([&] { return knows(a, "b") && knows(b, "a"); }));
          b.on(handler_key::of(message_type::request_uri, "sealed"),
               [](message& m) {
                 return make(message_type::respond_uri, "sealed", content_of(m) + "!");
               },
               {{}, xb});
          udp_node::request_options o;
          o.content = to_buffer(as_bytes("for b only"));
          o.inner.cipher = xa;
          message got = co_await a.request("sealed", b.local_endpoint(), o);
          CHECK(got.type() == message_type::respond_uri);
          CHECK(content_of(got) == "for b only!");
          CHECK(lb.at(log_level::warning).empty());
        }(),
        a, b);
  });
}

TEST_CASE("seed 003: stop clears local peer state even when a DISCONNECT cannot be sent") {
  log_capture la;
  test::run_io_checked([&](io_context& io) -> task<void> {
    udp_node a(io, with_peer(la, "a"));
    a.start();
    // An IPv6 peer of an IPv4 node: its DISCONNECT fails to send.
    a.peers().add_or_update(to_buffer(as_bytes("far")), std::nullopt, {"::1", 9}, a.now_seconds());
    a.peers().add_or_update(to_buffer(as_bytes("near")), std::nullopt, {"127.0.0.1", 9},
                            a.now_seconds());
    a.subscribe("topic", {"::1", 9});
    co_await a.stop();
    CHECK(a.peers().empty());
    CHECK(a.subscribers("topic").empty());
    CHECK(la.has(log_level::warning, "send failed"));
  });
}
