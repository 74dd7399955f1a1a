// tcp_server end to end on loopback, driven by tcp_client: echo, the CRUD
// sequence, NOT_FOUND, subscribe/notify, broadcast past a slow reader,
// plugins, malformed frames, limits. Every test ends with no descriptor,
// registration or task frame left (run_io).
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "node/tcp_support.hpp"
#include "support/counting_new.hpp"

using namespace tcp_test;

namespace {
using db_t = std::map<std::string, std::string>;
}  // namespace

TEST_CASE("echo: a request answered by the handler, then a clean stop") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    install_crud(server, std::make_shared<db_t>());
    const endpoint at = co_await server.start();
    CHECK(at.port() != 0);
    CHECK(server.port() == at.port());
    tcp_client client(io, client_for(at));
    co_await client.connect();
    const message answer = co_await client.request(as_bytes("echo"), {}, as_bytes("hello"));
    CHECK(answer.type() == message_type::respond_uri);
    CHECK(uri_of(answer) == "echo");
    CHECK(content_of(answer) == "hello");
    CHECK(server.connection_count() == 1);
    co_await client.stop();
    co_await server.stop();
    CHECK(server.connection_count() == 0);
  });
}

namespace {

// A server with the CRUD handlers and a client connected to it, both with
// `outer` plugins (the client's may differ: `client_outer`).
struct pair_fixture {
  tcp_server server;
  std::optional<tcp_client> client;
  explicit pair_fixture(io_context& io, tcp_server_options o = local_server())
      : server(io, std::move(o)) {}
  task<void> start(io_context& io, const plugin_layer<message>& inner = {},
                   const plugin_layer<message>& outer = {},
                   std::optional<plugin_layer<message>> client_outer = std::nullopt) {
    install_crud(server, std::make_shared<db_t>(), inner);
    server.set_plugins(outer);
    const endpoint at = co_await server.start();
    client.emplace(io, client_for(at));
    client->set_plugins(client_outer.value_or(outer));
    co_await client->connect();
  }
  task<void> stop() {
    if (client) co_await client->stop();
    co_await server.stop();
  }
};

task<void> crud_sequence(tcp_client& c, const call_options<message>& o) {
  message m = co_await c.create(as_bytes("k"), as_bytes("v1"), o);
  CHECK(m.type() == message_type::ok);
  m = co_await c.request(as_bytes("k"), o);
  CHECK(m.type() == message_type::respond_uri);
  CHECK(content_of(m) == "v1");
  m = co_await c.update(as_bytes("k"), as_bytes("v2"), o);
  CHECK(m.type() == message_type::ok);
  m = co_await c.request(as_bytes("k"), o);
  CHECK(content_of(m) == "v2");
  m = co_await c.del(as_bytes("k"), o);
  CHECK(m.type() == message_type::ok);
  m = co_await c.request(as_bytes("k"), o);
  CHECK(m.type() == message_type::not_found);
  m = co_await c.create(as_bytes("k"), as_bytes("v3"), o);
  CHECK(m.type() == message_type::ok);
  m = co_await c.create(as_bytes("k"), as_bytes("v4"), o);
  CHECK(m.type() == message_type::error);
}

// Two HMAC layers need two field names (as in the reference README): the
// inner layer keeps the defaults, the outer one signs into "outer_hmac".
plugin_layer<message> hmac(std::string_view secret, std::string_view field = "hmac") {
  hmac_auth_options o;
  o.hmac_field = std::string(field);
  return {hmac_auth_plugin(secret, o), {}};
}
plugin_layer<message> hmac_cipher(std::string_view secret, std::string_view key,
                                  std::string_view field = "hmac", std::string_view iv = "iv") {
  hmac_auth_options o;
  o.hmac_field = std::string(field);
  sha256_stream_cipher_options c;
  c.iv_field = std::string(iv);
  return {hmac_auth_plugin(secret, o), sha256_stream_cipher_plugin(key, c)};
}

}  // namespace

TEST_CASE("the CRUD sequence, plain and under plugins") {
  struct variant {
    const char* name;
    plugin_layer<message> outer, inner;
  };
  const std::vector<variant> variants = {
      {"plain", {}, {}},
      {"hmac", hmac("secret"), {}},
      {"hmac + stream cipher", hmac_cipher("secret", "key"), {}},
      {"two hmac layers", hmac("outer secret", "outer_hmac"), hmac("inner secret")},
      {"two hmac + cipher layers", hmac_cipher("s1", "k1", "outer_hmac", "outer_iv"),
       hmac_cipher("s2", "k2")},
  };
  for (const variant& v : variants) {
    CAPTURE(v.name);
    run_io([&](io_context& io) -> task<void> {
      pair_fixture f(io);
      co_await f.start(io, v.inner, v.outer);
      co_await crud_sequence(*f.client, call_options<message>{.inner = v.inner});
      co_await f.stop();
    });
  }
}

TEST_CASE("a uri no handler takes is answered NOT_FOUND by the default handler") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    const endpoint at = co_await server.start();
    tcp_client client(io, client_for(at));
    co_await client.connect();
    const message m = co_await client.request(as_bytes("nothing here"));
    CHECK(m.type() == message_type::not_found);
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("a forged HMAC is answered with an unsealed AUTH_ERROR: authentication_failed at once") {
  run_io([](io_context& io) -> task<void> {
    pair_fixture f(io);
    co_await f.start(io, {}, hmac("secret"), hmac("not the secret"));
    const auto t0 = io.now();
    bool refused = false;
    try {
      (void)co_await f.client->request(as_bytes("echo"), {}, as_bytes("x"));
    } catch (const authentication_failed& e) {
      refused = true;
      CHECK(e.text() == "HMAC auth failed");
    }
    CHECK(refused);
    CHECK(io.now() - t0 < 1s);  // not the request timeout
    co_await f.stop();
  });
}

TEST_CASE("a forged inner HMAC (a handler's plugin) is answered with AUTH_ERROR too") {
  run_io([](io_context& io) -> task<void> {
    pair_fixture f(io);
    co_await f.start(io, hmac("inner"), hmac("outer", "outer_hmac"));
    CHECK_THROWS_AS((void)co_await f.client->request(as_bytes("echo"),
                                                     call_options<message>{.inner = hmac("bad")}),
                    authentication_failed);
    // The connection goes on.
    const message m = co_await f.client->request(
        as_bytes("echo"), call_options<message>{.inner = hmac("inner")}, as_bytes("ok"));
    CHECK(content_of(m) == "ok");
    co_await f.stop();
  });
}

TEST_CASE("subscribe, notify, unsubscribe; a closed connection is unsubscribed") {
  run_io([](io_context& io) -> task<void> {
    pair_fixture f(io);
    co_await f.start(io);
    auto got = std::make_shared<std::vector<std::string>>();
    async_event arrived;
    f.client->on(handler_key::of(message_type::notify_uri, "news"), [&, got](message& m) {
      got->push_back(content_of(m));
      arrived.set();
    });
    message m = co_await f.client->subscribe(as_bytes("news"));
    CHECK(m.type() == message_type::confirm_subscribe);
    CHECK(f.server.subscriber_count(as_bytes("news")) == 1);
    CHECK(f.server.notify(as_bytes("news"), make(message_type::notify_uri, "news", "one")) == 1);
    co_await with_timeout(10s, arrived.wait());
    CHECK(*got == std::vector<std::string>{"one"});
    m = co_await f.client->unsubscribe(as_bytes("news"));
    CHECK(m.type() == message_type::confirm_unsubscribe);
    CHECK(f.server.notify(as_bytes("news"), make(message_type::notify_uri, "news", "two")) == 0);
    (void)co_await f.client->subscribe(as_bytes("news"));
    co_await f.client->close();
    // The server's loop for it ends: it is forgotten everywhere.
    CHECK(co_await eventually([&] { return f.server.connection_count() == 0; },
                              "the server forgets the closed connection"));
    CHECK(f.server.subscriber_count(as_bytes("news")) == 0);
    co_await f.stop();
  });
}

TEST_CASE("broadcast: a reader that never reads is dropped, the others get everything") {
  run_io([](io_context& io) -> task<void> {
    tcp_server_options o = local_server();
    o.connection.send_queue_frames = 8;
    o.connection.send_timeout = 5s;
    tcp_server server(io, o);
    const endpoint at = co_await server.start();
    // The slow one: connected, never reads.
    tcp_stream slow = co_await tcp_stream::connect(io, at);
    tcp_client client(io, client_for(at));
    co_await client.connect();
    CHECK(co_await eventually([&] { return server.connection_count() == 2; },
                              "both connections accepted"));
    constexpr int total = 200;
    auto count = std::make_shared<int>(0);
    async_event all;
    client.on(handler_key::of(message_type::notify_uri, "big"), [&, count](message&) {
      if (++*count == total) all.set();
    });
    const std::string payload(32 * 1024, 'x');
    for (int i = 0; i < total; ++i) {
      server.broadcast(make(message_type::notify_uri, "big", payload));
      co_await sleep_for(1ms);  // the fast reader keeps up; the slow one's queue fills
    }
    co_await with_timeout(60s, all.wait());
    CHECK(*count == total);
    CHECK(server.connection_count() == 1);  // the slow one was dropped
    slow.close();
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("a frame with a bad checksum is answered 'invalid message' and the connection goes on") {
  run_io([](io_context& io) -> task<void> {
    log_capture logs;
    tcp_server server(io, local_server());
    server.set_logger(logs.make());
    install_crud(server, std::make_shared<db_t>());
    const endpoint at = co_await server.start();
    tcp_client other(io, client_for(at));
    co_await other.connect();
    framed_stream raw(co_await tcp_stream::connect(io, at));
    byte_buffer bad = make(message_type::request_uri, "echo", "abc").encode();
    bad.back() ^= 1;  // the body no longer matches its checksum
    const byte_buffer good = make(message_type::request_uri, "echo", "def").encode();
    const byte_view both[] = {bad, good};
    co_await raw.write_encoded(both);
    auto r = co_await raw.read_frame();
    REQUIRE(r);
    message m = r.to_message();
    CHECK(m.type() == message_type::error);
    CHECK(content_of(m) == "invalid message");
    r = co_await raw.read_frame();
    REQUIRE(r);
    m = r.to_message();
    CHECK(m.type() == message_type::respond_uri);
    CHECK(content_of(m) == "def");
    CHECK(logs.contains("invalid frame"));
    // Others undisturbed.
    m = co_await other.request(as_bytes("echo"), {}, as_bytes("still here"));
    CHECK(content_of(m) == "still here");
    raw.close();
    co_await other.stop();
    co_await server.stop();
  });
}

TEST_CASE("a frame too large closes that connection only, logged with the peer") {
  run_io([](io_context& io) -> task<void> {
    log_capture logs;
    tcp_server_options o = local_server();
    o.connection.max_frame_size = 1024;
    tcp_server server(io, o);
    server.set_logger(logs.make());
    install_crud(server, std::make_shared<db_t>());
    const endpoint at = co_await server.start();
    tcp_client other(io, client_for(at));
    co_await other.connect();
    framed_stream raw(co_await tcp_stream::connect(io, at));
    const byte_buffer big =
        make(message_type::request_uri, "echo", std::string(4096, 'x')).encode();
    const byte_view one[] = {big};
    co_await raw.write_encoded(one);
    auto r = co_await raw.read_frame();  // the error answer, then the end
    REQUIRE(r);
    CHECK(r.to_message().type() == message_type::error);
    r = co_await raw.read_frame();
    CHECK(r.status == frame_read_status::end_of_stream);
    bool logged_with_peer = false;
    for (const auto& rec : *logs.records)
      if (rec.text.find("framing is lost") != std::string::npos && rec.peer)
        logged_with_peer = true;
    CHECK(logged_with_peer);
    const message m = co_await other.request(as_bytes("echo"), {}, as_bytes("fine"));
    CHECK(content_of(m) == "fine");
    raw.close();
    co_await other.stop();
    co_await server.stop();
  });
}

TEST_CASE("max_connections: an extra connection is refused and logged, the others served") {
  run_io([](io_context& io) -> task<void> {
    log_capture logs;
    tcp_server_options o = local_server();
    o.max_connections = 1;
    tcp_server server(io, o);
    server.set_logger(logs.make());
    install_crud(server, std::make_shared<db_t>());
    const endpoint at = co_await server.start();
    tcp_client first(io, client_for(at));
    co_await first.connect();
    (void)co_await first.request(as_bytes("echo"));
    tcp_client second(io, client_for(at));
    co_await second.connect();  // the kernel accepts; the server closes it
    CHECK_THROWS_AS((void)co_await second.receive_once(), io_error);
    CHECK(logs.contains("max_connections"));
    CHECK(server.connection_count() == 1);
    const message m = co_await first.request(as_bytes("echo"), {}, as_bytes("a"));
    CHECK(content_of(m) == "a");
    co_await second.stop();
    co_await first.stop();
    co_await server.stop();
  });
}

TEST_CASE("idle timeout: a silent connection is closed after the limit, on the virtual clock") {
  run_io([](io_context& io) -> task<void> {
    tcp_server_options o = local_server();
    o.connection.idle_timeout = 30s;
    tcp_server server(io, o);
    const endpoint at = co_await server.start();
    tcp_client client(io, client_for(at));
    co_await client.connect();
    const auto t0 = io.now();
    CHECK_THROWS_AS((void)co_await client.receive_once({.timeout = 1h}), io_error);
    CHECK(io.now() - t0 >= 30s);
    CHECK(io.now() - t0 < 31s);
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("several requests in flight on one connection, to the same uri, each get their own") {
  // Four requests; handler i takes 100 - 10 i ms. By default one runs at a
  // time, in order (340 ms in all); with max_concurrent_handlers = 4 all
  // four run at once (100 ms: the longest one's).
  for (std::size_t concurrency : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(concurrency);
    run_io([&](io_context& io) -> task<void> {
      tcp_server_options o = local_server();
      o.max_concurrent_handlers = concurrency;
      tcp_server server(io, o);
      std::size_t running = 0, peak = 0;
      std::vector<int> started;
      // Answers take longer for earlier requests: with concurrency they
      // finish out of order, and still reach the right request only if
      // the matching is by uri; so each request uses its own uri there.
      server.on(handler_key::of(message_type::request_uri), [&](message& m) -> task<message> {
        const int i = content_of(m)[0] - '0';
        started.push_back(i);
        peak = std::max(peak, ++running);
        co_await sleep_for(std::chrono::milliseconds(100 - 10 * i));
        --running;
        co_return make_respond_uri_msg<message>(m.body().content(), m.body().uri());
      });
      const endpoint at = co_await server.start();
      tcp_client client(io, client_for(at));
      co_await client.connect();
      constexpr int n = 4;
      std::vector<std::string> got(n);
      const auto t0 = io.now();
      co_await with_scope([&](task_scope& s) -> task<void> {
        for (int i = 0; i < n; ++i) {
          s.spawn([&, i]() -> task<void> {
            const std::string uri = concurrency == 1 ? "same" : "u" + std::to_string(i);
            const std::string body(1, char('0' + i));
            message m = co_await client.request(as_bytes(uri), {}, as_bytes(body));
            got[i] = content_of(m);
          });
        }
        co_return;
      });
      const auto elapsed = io.now() - t0;
      for (int i = 0; i < n; ++i)
        CHECK(got[i] == std::string(1, char('0' + i)));
      CHECK(peak == concurrency);
      if (concurrency == 1) {
        CHECK(started == std::vector<int>{0, 1, 2, 3});  // in order, one after another
        CHECK(elapsed == 340ms);                         // the sum
      } else {
        CHECK(elapsed == 100ms);  // the longest handler's, not the sum
      }
      co_await client.stop();
      co_await server.stop();
    });
  }
}

namespace {
/// A connected loopback pair: the end a connection will own, and its peer.
task<std::pair<tcp_stream, tcp_stream>> stream_pair(io_context& io) {
  tcp_listener l = tcp_listener::bind(io, endpoint::parse("127.0.0.1:0"));
  tcp_stream peer = co_await tcp_stream::connect(io, l.local_endpoint());
  tcp_stream mine = co_await l.accept();
  co_return std::pair{std::move(mine), std::move(peer)};
}
}  // namespace

TEST_CASE("connection: sends waiting for room in the send queue go out in order, then time out") {
  run_io([](io_context& io) -> task<void> {
    const logger quiet{log_sink{}};
    const std::string payload(60000, 'x');
    constexpr int total = 300;  // 18 MB: far more than the socket buffers hold
    {
      auto [mine, peer_stream] = co_await stream_pair(io);
      framed_stream peer(std::move(peer_stream));
      // No send timeout while the peer reads: the loop's clock is virtual,
      // and the kernel's loopback flow control may take real time to reopen
      // a window, which the virtual clock would skip as idle time.
      connection_options o;
      o.send_queue_frames = 2;
      o.send_timeout = std::chrono::nanoseconds::max();
      tcp_connection c(std::move(mine), o, quiet, 1);
      int sent = 0;
      int failed = 0;
      co_await with_scope([&](task_scope& s) -> task<void> {
        c.write_in(s);
        s.spawn(
            [&]() -> task<void> {
              for (int i = 0; i < total; ++i) {
                if (!co_await c.send(make(message_type::notify_uri, std::to_string(i), payload))) {
                  ++failed;
                  co_return;
                }
                ++sent;
              }
            },
            "sender");
        co_await sleep_for(1s);  // nobody reads: the sender waits for room
        CHECK(sent < total);
        CHECK(failed == 0);
        CHECK(c.is_open());
        for (int i = 0; i < total; ++i) {  // now read: everything arrives, in order
          auto r = co_await peer.read_frame();
          REQUIRE(r);
          const message m = r.to_message();
          CHECK(uri_of(m) == std::to_string(i));
        }
        CHECK(sent == total);
      });
      peer.close();
    }
    // Nobody reads: a waiting send fails once the send timeout passes and
    // the connection is dropped.
    auto [mine, peer_stream] = co_await stream_pair(io);
    connection_options o;
    o.send_queue_frames = 2;
    o.send_timeout = 5s;
    tcp_connection c(std::move(mine), o, quiet, 2);
    co_await with_scope([&](task_scope& s) -> task<void> {
      c.write_in(s);
      const auto t0 = io.now();
      bool ok = true;
      int sent = 0;
      for (int i = 0; ok && i < total; ++i) {
        ok = co_await c.send(make(message_type::notify_uri, "late", payload));
        if (ok) ++sent;
      }
      CHECK_FALSE(ok);
      CHECK(sent < total);
      CHECK_FALSE(c.is_open());
      CHECK(io.now() - t0 >= 5s);  // not before the timeout
    });
    peer_stream.close();
  });
}

TEST_CASE("connection: frames queued in a turn are written at its end, a writer only for a rest") {
  run_io([](io_context& io) -> task<void> {
    auto [mine, peer_stream] = co_await stream_pair(io);
    // A small send buffer, so that the kernel soon stops taking whole
    // frames. (Not a small receive buffer as well: the reader then waits
    // for the kernel's zero-window probes, ~200 ms per 8 KiB, 70 s in all.)
    const int small = 4096;
    ::setsockopt(mine.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    const int peer_fd = peer_stream.native_handle();
    framed_stream peer(std::move(peer_stream));
    const logger quiet{log_sink{}};
    // No send timeout: the loop's clock is virtual, and the kernel's
    // loopback flow control may take real time to reopen a window.
    connection_options o;
    o.send_timeout = std::chrono::nanoseconds::max();
    tcp_connection c(std::move(mine), o, quiet, 1);
    const auto unread = [peer_fd] {
      int n = -1;
      ::ioctl(peer_fd, FIONREAD, &n);
      return n;
    };
    co_await with_scope([&](task_scope& s) -> task<void> {
      c.write_in(s);
      std::size_t bytes = 0;
      for (int i = 0; i < 3; ++i) {
        const message m = make(message_type::notify_uri, std::to_string(i), "small");
        bytes += m.encode().size();
        CHECK(c.try_send(m));
      }
      CHECK(unread() == 0);  // queued: they go out at the end of this turn
      co_await yield();
      CHECK(unread() == static_cast<int>(bytes));  // all three, and no writer task for them
      CHECK(s.size() == 0);
      // More than the kernel takes at once: the rest goes through a writer,
      // and a frame queued behind it waits its turn.
      const std::string big(60000, 'b');
      constexpr int sent_big = 64;
      for (int i = 0; i < sent_big; ++i)
        CHECK(c.try_send(make(message_type::notify_uri, "big", big)));
      co_await yield();
      CHECK(s.size() == 1);  // the writer, for the rest
      CHECK(c.try_send(make(message_type::notify_uri, "last", "small")));
      for (int i = 0; i < 3; ++i) {
        auto r = co_await peer.read_frame();
        REQUIRE(r);
        CHECK(uri_of(r.to_message()) == std::to_string(i));
      }
      for (int i = 0; i < sent_big; ++i) {
        auto r = co_await peer.read_frame();
        REQUIRE(r);
        const message m = r.to_message();  // checksum checked: every byte in order
        CHECK(uri_of(m) == "big");
        CHECK(m.body().content().size() == big.size());
      }
      auto r = co_await peer.read_frame();
      REQUIRE(r);
      CHECK(uri_of(r.to_message()) == "last");
      c.finish();
    });
    CHECK(!c.is_open());
    peer.close();
  });
}

TEST_CASE("connection: a steady stream of frames reuses its send queue's buffers") {
  // Each ring slot keeps its buffer when its frame is written, and the next
  // frame is encoded into it: no allocation per frame once warm.
  run_io([](io_context& io) -> task<void> {
    auto [mine, peer_stream] = co_await stream_pair(io);
    framed_stream peer(std::move(peer_stream));
    const logger quiet{log_sink{}};
    tcp_connection c(std::move(mine), connection_options{}, quiet, 1);
    co_await with_scope([&](task_scope& s) -> task<void> {
      c.write_in(s);
      const message m = make(message_type::notify_uri, "u", "small");
      CHECK(c.try_send(m));
      co_await yield();  // written at the turn's end; its slot keeps the buffer
      const std::size_t before = test::allocations.load();
      constexpr int frames = 100;
      for (int i = 0; i < frames; ++i) {
        CHECK(c.try_send(m));
        co_await yield();
      }
#if NETAIO_TEST_COUNT_ALLOCATIONS
      CHECK(test::allocations.load() == before);
#else
      (void)before;
#endif
      for (int i = 0; i < frames + 1; ++i) {
        auto r = co_await peer.read_frame();
        REQUIRE(r);
        CHECK(r.to_message() == m);
      }
      c.finish();
    });
    peer.close();
  });
}

TEST_CASE("connection: finish() writes what was queued in the same turn before the owner joins") {
  run_io([](io_context& io) -> task<void> {
    auto [mine, peer_stream] = co_await stream_pair(io);
    framed_stream peer(std::move(peer_stream));
    const logger quiet{log_sink{}};
    {
      tcp_connection c(std::move(mine), connection_options{}, quiet, 1);
      co_await with_scope([&](task_scope& s) -> task<void> {
        c.write_in(s);
        CHECK(c.try_send(make(message_type::respond_uri, "bye", "answer")));
        c.finish();  // no turn passes: the frame must not be lost
        co_return;
      });
    }  // the connection (and its socket) is gone
    auto r = co_await peer.read_frame();
    REQUIRE(r);
    CHECK(uri_of(r.to_message()) == "bye");
    auto end = co_await peer.read_frame();
    CHECK(end.status == frame_read_status::end_of_stream);
    peer.close();
  });
}

TEST_CASE("stop with idle clients connected: every connection ends, every client sees it close") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    install_crud(server, std::make_shared<db_t>());
    const endpoint at = co_await server.start();
    std::vector<framed_stream> clients;
    for (int i = 0; i < 20; ++i) {
      clients.emplace_back(co_await tcp_stream::connect(io, at));
      co_await clients.back().write_frame(make(message_type::request_uri, "echo", "hi"));
      auto r = co_await clients.back().read_frame();
      REQUIRE(r);
    }
    CHECK(server.connection_count() == 20);
    co_await server.stop();
    CHECK(server.connection_count() == 0);
    CHECK(server.scope().size() == 0);
    for (auto& c : clients) {
      auto r = co_await c.read_frame();
      CHECK(r.status == frame_read_status::end_of_stream);
      c.close();
    }
  });
}

TEST_CASE("stop while a handler waits: it is cancelled within the grace period") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    async_event entered;
    bool cancelled = false;
    server.on(handler_key::of(message_type::request_uri, "slow"),
              [&](message&) -> task<std::optional<message>> {
                entered.set();
                try {
                  co_await sleep_for(1h);
                } catch (const operation_cancelled&) {
                  cancelled = true;
                  throw;
                }
                co_return make(message_type::respond_uri, "slow");
              });
    const endpoint at = co_await server.start();
    framed_stream idle(co_await tcp_stream::connect(io, at));
    framed_stream busy(co_await tcp_stream::connect(io, at));
    co_await busy.write_frame(make(message_type::request_uri, "slow"));
    co_await entered.wait();
    CHECK(server.connection_count() == 2);
    co_await server.stop(5s);
    CHECK(cancelled);
    CHECK(server.connection_count() == 0);
    CHECK(server.scope().size() == 0);
    idle.close();
    busy.close();
  });
}

TEST_CASE("a cancelled run() (with_timeout): its tasks end with it; destroying it is fine") {
  // Before: the cancelled run() joined every task, but ~tcp_server saw
  // stop() never called and terminated the program.
  run_io([](io_context& io) -> task<void> {
    tcp_server_options o = local_server();
    tcp_server server(io, o);
    install_crud(server, std::make_shared<db_t>());
    tcp_client client(io, client_for(co_await server.start()));
    co_await client.connect();
    CHECK(content_of(co_await client.request(as_bytes("echo"), {}, as_bytes("x"))) == "x");
    const auto t0 = io.now();
    CHECK_THROWS_AS(co_await with_timeout(2s, server.run()), timed_out);
    CHECK(io.now() - t0 == 2s);
    CHECK(server.scope().size() == 0);
    CHECK(server.connection_count() == 0);
    // The same for wait().
    tcp_server second(io, local_server());
    (void)co_await second.start();
    CHECK_THROWS_AS(co_await with_timeout(1s, second.wait()), timed_out);
    CHECK(second.scope().size() == 0);
    co_await client.stop();
    // Neither server is stopped: both are destroyed here, nothing running.
  });
}

TEST_CASE(
    "stop's drain is bounded on the loop's clock: a connection that never ends costs the grace") {
  // A connection whose task does not end when closed: its loop waited for a
  // handler slot when stop() began (no handler running, so stop drains),
  // then starts a handler that ignores cancellation. Before: the drain's
  // time was measured on the wall clock while it waited on the loop's, so
  // on the virtual clock stop() took twice the grace (20 s, not 10 s).
  run_io([](io_context& io) -> task<void> {
    tcp_server_options o = local_server();
    o.max_concurrent_handlers = 2;
    tcp_server server(io, o);
    log_capture log;
    server.set_logger(log.make());
    async_event gate;
    server.on(handler_key::of(message_type::request_uri, "gate"), [&](message& m) -> task<message> {
      co_await gate.wait();
      co_return make_respond_uri_msg<message>(m.body().content(), m.body().uri());
    });
    server.on(handler_key::of(message_type::request_uri, "stuck"),
              [](message&) -> task<void> { co_await shield(1h, sleep_for(1h)); });
    tcp_client client(io, client_for(co_await server.start()));
    co_await client.connect();
    co_await with_scope([&](task_scope& s) -> task<void> {
      for (int i = 0; i < 2; ++i)
        s.spawn([&]() -> task<void> {
          try {
            (void)co_await client.request(as_bytes("gate"), {.timeout = 1h});
          } catch (const io_error&) {  // the server closes before answering
          }
        });
      s.spawn([&]() -> task<void> {
        CHECK(co_await client.send(make(message_type::request_uri, "stuck")));
      });
      co_await sleep_for(1s);  // two handlers wait at the gate, the third frame for a slot
      gate.set();              // both end; the loop is woken for the third frame
      co_await yield();        // they have ended, the loop has not run yet
      const auto t0 = io.now();
      co_await server.stop(10s);
      CHECK(io.now() - t0 == 10s);
    });
    CHECK(server.scope().size() == 0);
    CHECK(log.contains("did not end within the grace period"));
    co_await client.stop();
  });
}

TEST_CASE("a handler that ignores cancellation: stop returns at the grace, the log names it") {
  // Before: the stuck task went to stderr, not to the server's logger.
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    log_capture log;
    server.set_logger(log.make());
    async_event entered;
    server.on(handler_key::of(message_type::request_uri, "stuck"), [&](message&) -> task<void> {
      entered.set();
      co_await shield(1h, sleep_for(1h));
    });
    tcp_client client(io, client_for(co_await server.start()));
    co_await client.connect();
    CHECK(co_await client.send(make(message_type::request_uri, "stuck")));
    co_await with_timeout(1min, entered.wait());
    const auto t0 = io.now();
    co_await server.stop(3s);
    CHECK(io.now() - t0 == 3s);
    CHECK(server.scope().size() == 0);
    bool named = false;
    for (const auto& r : *log.records)
      if (r.level == log_level::error && r.text.find("stop: task 'connection 127.0.0.1:") == 0 &&
          r.text.find("did not end within the grace period") != std::string::npos)
        named = true;
    CHECK(named);
    CHECK(log.contains("tasks still running:"));  // and the tree of what it ran
    co_await client.stop();
  });
}

// One reader per stream, by construction: what handlers get (the connection)
// offers no way to reach its framed stream. (Before: framed() was public.)
template <class C>
concept exposes_its_stream = requires(C& c) {
  c.framed();
};
static_assert(!exposes_its_stream<tcp_connection>);

TEST_CASE("echo on [::1]:0: IPv6 listening, a client, a clean stop") {
  run_io([](io_context& io) -> task<void> {
    tcp_server_options o;
    o.at = endpoint::parse("[::1]:0");
    tcp_server server(io, o);
    install_crud(server, std::make_shared<db_t>());
    endpoint at;
    try {
      at = co_await server.start();
    } catch (const io_error& e) {
      MESSAGE("no IPv6 loopback here, skipped: ", e.what());
      co_return;
    }
    CHECK(at.address().is_v6());
    CHECK(at.port() != 0);
    tcp_client client(io, client_for(at));
    co_await client.connect();
    const message answer = co_await client.request(as_bytes("echo"), {}, as_bytes("six"));
    CHECK(answer.type() == message_type::respond_uri);
    CHECK(content_of(answer) == "six");
    CHECK(server.connection_count() == 1);
    co_await client.stop();
    co_await server.stop();
    CHECK(server.connection_count() == 0);
  });
}

namespace {
// Whether some warning-or-worse record contains `needle` and names `peer`.
bool logged_with(const log_capture& logs, std::string_view needle, const peer_address& peer) {
  for (const auto& r : *logs.records)
    if (r.level >= log_level::warning && r.text.find(needle) != std::string::npos && r.peer &&
        *r.peer == peer)
      return true;
  return false;
}
}  // namespace

TEST_CASE("an unknown message type: answered, that connection closed, logged with the peer") {
  run_io([](io_context& io) -> task<void> {
    log_capture logs;
    tcp_server server(io, local_server());
    server.set_logger(logs.make());
    install_crud(server, std::make_shared<db_t>());
    const endpoint at = co_await server.start();
    tcp_client other(io, client_for(at));
    co_await other.connect();
    framed_stream raw(co_await tcp_stream::connect(io, at));
    const peer_address me = to_peer_address(raw.stream().local_endpoint());
    byte_buffer unknown = make(message_type::request_uri, "echo", "abc").encode();
    unknown[0] = std::uint8_t{200};  // no such type in the default protocol
    const byte_view one[] = {unknown};
    co_await raw.write_encoded(one);
    auto r = co_await raw.read_frame();  // the error answer, then the end
    REQUIRE(r);
    CHECK(r.to_message().type() == message_type::error);
    r = co_await raw.read_frame();
    CHECK(r.status == frame_read_status::end_of_stream);
    CHECK(logged_with(logs, "invalid frame", me));
    // The other connection is undisturbed.
    CHECK(content_of(co_await other.request(as_bytes("echo"), {}, as_bytes("fine"))) == "fine");
    raw.close();
    co_await other.stop();
    co_await server.stop();
  });
}

TEST_CASE("undecodable packify auth fields: answered 'invalid message', the connection goes on") {
  run_io([](io_context& io) -> task<void> {
    log_capture logs;
    tcp_server server(io, local_server());
    server.set_logger(logs.make());
    install_crud(server, std::make_shared<db_t>());
    const endpoint at = co_await server.start();
    tcp_client other(io, client_for(at));
    co_await other.connect();
    framed_stream raw(co_await tcp_stream::connect(io, at));
    const peer_address me = to_peer_address(raw.stream().local_endpoint());
    // A well-framed message (its body's checksum right) whose auth fields
    // are not packify: the header, 3 garbage bytes for its auth fields (in
    // place of the encoded empty ones), the body.
    const byte_buffer plain = make(message_type::request_uri, "echo", "abc").encode();
    const std::size_t auth_len = std::size_t{plain[1]} << 8 | plain[2];
    const std::uint8_t garbage[] = {0xff, 0xfe, 0xfd};
    byte_buffer bad(plain.begin(), plain.begin() + 9);
    bad[1] = 0;
    bad[2] = sizeof garbage;  // auth length, big endian
    bad.insert(bad.end(), std::begin(garbage), std::end(garbage));
    bad.insert(bad.end(), plain.begin() + 9 + static_cast<std::ptrdiff_t>(auth_len), plain.end());
    const byte_buffer good = make(message_type::request_uri, "echo", "def").encode();
    const byte_view both[] = {bad, good};
    co_await raw.write_encoded(both);
    auto r = co_await raw.read_frame();
    REQUIRE(r);
    message m = r.to_message();
    CHECK(m.type() == message_type::error);
    CHECK(content_of(m) == "invalid message");
    r = co_await raw.read_frame();  // the same connection answers the next one
    REQUIRE(r);
    m = r.to_message();
    CHECK(m.type() == message_type::respond_uri);
    CHECK(content_of(m) == "def");
    CHECK(logged_with(logs, "invalid frame", me));
    CHECK(content_of(co_await other.request(as_bytes("echo"), {}, as_bytes("fine"))) == "fine");
    raw.close();
    co_await other.stop();
    co_await server.stop();
  });
}

namespace {
// A key policy of the user's own: uris match whatever their case.
struct case_insensitive_keys {
  using key_type = handler_key;
  std::array<key_type, 2> extract(const message& m, const std::optional<peer_address>&) const {
    std::string uri = uri_of(m);
    for (char& ch : uri)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return {key_type::of(m.type(), uri), key_type::of(m.type())};
  }
  std::string describe(const key_type& k) const { return reference_keys<message>{}.describe(k); }
};
}  // namespace

TEST_CASE("a key policy of the user's own replaces the reference's through basic_tcp_server") {
  run_io([](io_context& io) -> task<void> {
    basic_tcp_server<default_protocol, case_insensitive_keys> server(io, local_server());
    server.on(handler_key::of(message_type::request_uri, "echo"), [](message& m) {
      return make_respond_uri_msg<message>(m.body().content(), m.body().uri());
    });
    tcp_client client(io, client_for(co_await server.start()));
    co_await client.connect();
    message m = co_await client.request(as_bytes("ECHO"), {}, as_bytes("loud"));
    CHECK(m.type() == message_type::respond_uri);
    CHECK(content_of(m) == "loud");
    m = co_await client.request(as_bytes("Echo"), {}, as_bytes("mixed"));
    CHECK(content_of(m) == "mixed");
    m = co_await client.request(as_bytes("other"));
    CHECK(m.type() == message_type::not_found);
    co_await client.stop();
    co_await server.stop();
  });
}
