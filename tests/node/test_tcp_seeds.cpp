// Each post-mortem in ../shared/seeds, shown impossible with tcp_server and
// tcp_client: stop from inside a handler with clients connected (000/001),
// one receive loop per connection and timeout handlers owned by the client
// (002), peers with a grace period, no orphans, cleaned on stop (003), and a
// background sender that stops with its node (004).
#include "node/tcp_support.hpp"

using namespace tcp_test;

namespace {
using db_t = std::map<std::string, std::string>;

peer local(std::string_view id) {
  peer p;
  p.id = to_buffer(as_bytes(id));
  p.data = to_buffer(as_bytes("data"));
  return p;
}
}  // namespace

TEST_CASE("seed 000/001: a handler stops the server that runs it, clients connected") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    install_crud(server, std::make_shared<db_t>());
    server.on(handler_key::of(message_type::request_uri, "stop"),
              [&server](message&) -> task<void> { co_await server.stop(); });
    const endpoint at = co_await server.start();
    std::vector<std::unique_ptr<tcp_client>> clients;
    for (int i = 0; i < 3; ++i) {
      clients.push_back(std::make_unique<tcp_client>(io, client_for(at)));
      co_await clients.back()->connect();
      (void)co_await clients.back()->request(as_bytes("echo"));
    }
    CHECK(server.connection_count() == 3);
    co_await with_timeout(10s, with_scope([&](task_scope& s) -> task<void> {
                            s.spawn([&]() -> task<void> { co_await server.run(); }, "run");
                            // The stopping request is never answered: its connection closes.
                            CHECK_THROWS_AS((void)co_await clients[0]->request(as_bytes("stop")),
                                            io_error);
                          }));
    CHECK(server.connection_count() == 0);
    CHECK(server.scope().size() == 0);
    for (auto& c : clients) {
      CHECK_THROWS_AS((void)co_await c->receive_once({.timeout = 10s}), io_error);
      co_await c->stop();
    }
    co_await server.stop();  // idempotent
  });
}

TEST_CASE("seed 002: concurrent requests share the connection's one receive loop") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    server.on(handler_key::of(message_type::request_uri), [](message& m) -> task<message> {
      co_await sleep_for(10ms);
      co_return make_respond_uri_msg<message>(m.body().content(), m.body().uri());
    });
    const endpoint at = co_await server.start();
    tcp_client client(io, client_for(at));
    co_await client.connect();
    CHECK(client.scope().size() == 1);  // the receive loop (its writer is nested in it)
    std::string a, b;
    std::size_t children_during = 0;
    co_await with_scope([&](task_scope& s) -> task<void> {
      s.spawn([&]() -> task<void> {
        a = content_of(co_await client.request(as_bytes("a"), {}, as_bytes("1")));
      });
      s.spawn([&]() -> task<void> {
        b = content_of(co_await client.request(as_bytes("b"), {}, as_bytes("2")));
      });
      co_await sleep_for(1ms);
      children_during = client.scope().size();
    });
    CHECK(a == "1");
    CHECK(b == "2");
    CHECK(children_during == 1);  // requests started no loop of their own
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE(
    "seed 002: the request throws at once; a pending coroutine timeout handler is cancelled by "
    "stop") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    server.on(handler_key::of(message_type::request_uri, "never"),
              [](message&) -> task<void> { co_await sleep_for(std::chrono::hours(1)); });
    const endpoint at = co_await server.start();
    tcp_client client(io, client_for(at));
    co_await client.connect();
    auto started = std::make_shared<int>(0);
    auto alive = std::make_shared<int>(0);
    client.set_timeout_handler(
        [started, alive](tcp_client&, timeout_kind k, const std::optional<peer_address>& server,
                         const timed_out&, const timeout_context& ctx) -> task<void> {
          CHECK(k == timeout_kind::request);
          CHECK(server.has_value());
          CHECK(text(ctx.uri) == "never");
          ++*started;
          struct mark {
            int* n;
            explicit mark(int* p) : n(p) { ++*n; }
            ~mark() { --*n; }
          } m(alive.get());
          co_await sleep_for(std::chrono::hours(24));
        });
    const auto t0 = io.now();
    CHECK_THROWS_AS((void)co_await client.request(as_bytes("never"), {.timeout = 2s}), timed_out);
    CHECK(io.now() - t0 == 2s);  // at once, not after the handler
    co_await yield();
    CHECK(*started == 1);
    CHECK(*alive == 1);
    CHECK(client.scope().size() == 2);  // receive loop + timeout handler
    co_await client.stop();
    CHECK(*alive == 0);
    CHECK(client.scope().size() == 0);
    co_await server.stop();
  });
}

TEST_CASE("seed 003: a peer lost without DISCONNECT stays for the grace period, then goes") {
  run_io([](io_context& io) -> task<void> {
    tcp_server_options o = local_server();
    o.peers.grace = 30;
    o.peers.timeout = 0;
    tcp_server server(io, o);
    server.manage_peers_automatically(local("server"));
    const endpoint at = co_await server.start();
    tcp_client client(io, client_for(at));
    client.manage_peers_automatically(local("client"));
    co_await client.connect();
    const byte_buffer cid = to_buffer(as_bytes("client"));
    CHECK(co_await eventually([&] { return server.get_peer(std::nullopt, cid) != nullptr; },
                              "the server learns the client"));
    // The client learns the server from PEER_DISCOVERED.
    const byte_buffer sid = to_buffer(as_bytes("server"));
    CHECK(co_await eventually([&] { return client.get_peer(std::nullopt, sid) != nullptr; },
                              "the client learns the server"));
    // Gone without DISCONNECT (stop closes without one).
    co_await client.stop();
    CHECK(co_await eventually([&] { return server.connection_count() == 0; },
                              "the server sees the connection gone"));
    const auto lost_at = io.now();
    co_await sleep_until(lost_at + 10s);
    CHECK(server.get_peer(std::nullopt, cid) != nullptr);  // within the grace
    co_await sleep_until(lost_at + 45s);
    CHECK(server.get_peer(std::nullopt, cid) == nullptr);  // expired by the sweeper
    co_await server.stop();
  });
}

TEST_CASE(
    "seed 003: DISCONNECT removes the peer at once; a close whose DISCONNECT fails leaves no "
    "orphan") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    server.manage_peers_automatically(local("server"));
    const endpoint at = co_await server.start();
    tcp_client client(io, client_for(at));
    client.manage_peers_automatically(local("client"));
    co_await client.connect();
    const byte_buffer cid = to_buffer(as_bytes("client"));
    CHECK(co_await eventually([&] { return server.get_peer(std::nullopt, cid) != nullptr; },
                              "the server learns the client"));
    co_await client.close();
    CHECK(co_await eventually([&] { return server.get_peer(std::nullopt, cid) == nullptr; },
                              "DISCONNECT removes the peer"));
    CHECK_FALSE(client.connected());
    // The server goes away; the client's close still cleans up locally.
    co_await client.connect();
    co_await server.stop();
    co_await client.close();
    CHECK_FALSE(client.connected());
    CHECK_THROWS_AS((void)co_await client.request(as_bytes("x")), io_error);
    co_await client.stop();
  });
}

TEST_CASE("seed 003: stop forgets every peer") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    server.manage_peers_automatically(local("server"));
    co_await server.start();
    for (int i = 0; i < 5; ++i)
      server.add_or_update_peer(to_buffer(as_bytes("p" + std::to_string(i))),
                                to_buffer(as_bytes("d")), {"127.0.0.1", std::uint16_t(1000 + i)});
    CHECK(server.peers().size() == 5);
    co_await server.stop();
    CHECK(server.peers().size() == 0);
  });
}

TEST_CASE("seed 004: a background sender stops with its node; nothing switched off for tests") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    server.manage_peers_automatically(local("server"));  // its sweeper runs too
    const endpoint at = co_await server.start();
    tcp_client client(io, client_for(at));
    auto got = std::make_shared<int>(0);
    client.on(handler_key::of(message_type::notify_uri, "tick"), [got](message&) { ++*got; });
    co_await client.connect();
    CHECK(co_await eventually([&] { return server.connection_count() == 1; },
                              "the connection accepted"));
    auto sent = std::make_shared<int>(0);
    server.scope().spawn(
        [&server, sent]() -> task<void> {
          for (;;) {
            server.broadcast(make(message_type::notify_uri, "tick"));
            ++*sent;
            co_await sleep_for(1s);
          }
        },
        "ticker");
    co_await sleep_for(10500ms);
    CHECK(*sent == 11);
    co_await client.stop();
    co_await server.stop();
    CHECK(server.scope().size() == 0);
    CHECK(*got >= 1);
  });
}
