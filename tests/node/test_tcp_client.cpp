// tcp_client on loopback: several servers, close, the connect timeout, every
// call (send, request, create, update, del, receive_once), client handlers,
// many requests in flight on one connection, timeout handlers, stop from
// another thread (client and server), AUTH_ERROR, and the bundled
// auto-reconnect handler on the virtual clock. Every test ends with no
// descriptor, registration or task frame left.
#include "node/tcp_support.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace tcp_test;

namespace {
using db_t = std::map<std::string, std::string>;

// A server with the CRUD handlers, started; its address.
task<endpoint> start_crud(tcp_server& s) {
  install_crud(s, std::make_shared<db_t>());
  co_return co_await s.start();
}

// A listener on loopback whose accept queue is full: a connect to it gets
// no answer (its SYN is dropped), so only the connect timeout ends it.
// Fills the queue with its own connections (backlog 0 holds one on Linux;
// filled until a connect stalls, whatever the kernel's count).
struct full_listener {
  tcp_listener listener;
  std::vector<tcp_stream> fillers;
  endpoint at;
};
task<full_listener> make_full_listener(io_context& io) {
  full_listener f;
  f.listener = tcp_listener::bind(io, endpoint::parse("127.0.0.1:0"), {.backlog = 0});
  f.at = f.listener.local_endpoint();
  for (int i = 0; i < 16; ++i) {
    bool stalled = false;
    try {
      f.fillers.push_back(co_await tcp_stream::connect(io, f.at, {.timeout = 1s}));
    } catch (const io_error& e) {
      if (e.errc() != io_errc::timed_out) throw;
      stalled = true;
    }
    if (stalled) co_return f;
  }
  FAIL("the accept queue never filled");
  co_return f;
}

// Runs `body(io)` on a real-time io_context (for tests with a second
// thread), with the same leak checks as run_io.
template <class Body>
void run_io_real_time(Body body) {
  test::fd_baseline fds;
  const long frames = live_task_frames();
  {
    io_context io;
    io.run(body(io));
    CHECK(io.pending_operations() == 0);
    CHECK(io.registered_descriptors() == 0);
  }
  CHECK(fds.delta() == 0);
  CHECK(live_task_frames() == frames);
}

}  // namespace

TEST_CASE("several servers: the default one and others by address; close(server), close_all") {
  run_io([](io_context& io) -> task<void> {
    tcp_server a(io, local_server()), b(io, local_server());
    a.on(handler_key::of(message_type::request_uri, "who"),
         [](message& m) { return make_respond_uri_msg<message>(as_bytes("a"), m.body().uri()); });
    b.on(handler_key::of(message_type::request_uri, "who"),
         [](message& m) { return make_respond_uri_msg<message>(as_bytes("b"), m.body().uri()); });
    const endpoint at_a = co_await a.start();
    const endpoint at_b = co_await b.start();
    tcp_client client(io, client_for(at_a));
    co_await client.connect();
    co_await client.connect(at_b);
    const peer_address pa = to_peer_address(at_a), pb = to_peer_address(at_b);
    // Named: each is used several times below.
    const call_options<message> to_a{.server = pa}, to_b{.server = pb};
    CHECK(client.connected());
    CHECK(client.connected(pa));
    CHECK(client.connected(pb));
    CHECK(content_of(co_await client.request(as_bytes("who"))) == "a");
    CHECK(content_of(co_await client.request(as_bytes("who"), to_b)) == "b");
    CHECK(content_of(co_await client.request(as_bytes("who"), to_a)) == "a");
    CHECK(client.scope().size() == 2);  // one receive loop per connection

    co_await client.close(pb);
    CHECK_FALSE(client.connected(pb));
    CHECK(client.connected());
    CHECK(client.scope().size() == 1);
    CHECK_THROWS_AS((void)co_await client.request(as_bytes("who"), to_b), io_error);
    CHECK(content_of(co_await client.request(as_bytes("who"))) == "a");

    // Reconnect, then close the default one alone, then everything.
    co_await client.connect(at_b);
    co_await client.close();
    CHECK_FALSE(client.connected());
    CHECK(content_of(co_await client.request(as_bytes("who"), to_b)) == "b");
    co_await client.connect();
    co_await client.close_all();
    CHECK_FALSE(client.connected(pa));
    CHECK_FALSE(client.connected(pb));
    CHECK(client.scope().size() == 0);
    co_await client.close(pb);  // closing what is closed: nothing
    co_await client.stop();
    co_await a.stop();
    co_await b.stop();
  });
}

TEST_CASE("two connects to one server at once: one connection stays, no receive loop lost") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    tcp_client client(io, client_for(co_await start_crud(server)));
    // Both wait in the kernel's connect at once; the second to finish
    // replaces the first (closing it and joining its loop), never overwrites it.
    co_await with_scope([&](task_scope& s) -> task<void> {
      s.spawn([&]() -> task<void> { co_await client.connect(); });
      s.spawn([&]() -> task<void> { co_await client.connect(); });
      co_return;
    });
    CHECK(client.connected());
    CHECK(client.scope().size() == 1);
    CHECK(content_of(co_await client.request(as_bytes("echo"), {}, as_bytes("one"))) == "one");
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("close(server) fails the requests waiting on that connection with io_error") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    server.on(handler_key::of(message_type::request_uri, "never"),
              [](message&) -> task<void> { co_await sleep_for(std::chrono::hours(1)); });
    tcp_client client(io, client_for(co_await server.start()));
    co_await client.connect();
    bool failed = false;
    co_await with_scope([&](task_scope& s) -> task<void> {
      s.spawn([&]() -> task<void> {
        try {
          (void)co_await client.request(as_bytes("never"), {.timeout = 1h});
        } catch (const io_error&) {
          failed = true;
        }
      });
      co_await sleep_for(1s);
      co_await client.close();
    });
    CHECK(failed);
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("connect: refused at once; to a listener that never answers, the connect timeout") {
  run_io([](io_context& io) -> task<void> {
    // Refused: a port bound, then closed.
    endpoint gone;
    {
      tcp_listener l = tcp_listener::bind(io, endpoint::parse("127.0.0.1:0"));
      gone = l.local_endpoint();
    }
    tcp_client_options o = client_for(gone);
    o.connect_timeout = 3s;
    tcp_client client(io, o);
    auto t0 = io.now();
    try {
      co_await client.connect();
      FAIL("connected to a closed port");
    } catch (const io_error& e) {
      CHECK(e.errc() == io_errc::refused);
    }
    CHECK(io.now() == t0);

    full_listener full = co_await make_full_listener(io);
    t0 = io.now();
    try {
      co_await client.connect(full.at);
      FAIL("connected to a full accept queue");
    } catch (const io_error& e) {
      CHECK(e.errc() == io_errc::timed_out);
    }
    CHECK(io.now() - t0 == 3s);  // the client's connect_timeout
    t0 = io.now();
    CHECK_THROWS_AS(co_await client.connect(full.at, 500ms), io_error);  // a per-call limit
    CHECK(io.now() - t0 == 500ms);
    CHECK_FALSE(client.connected(to_peer_address(full.at)));
    CHECK(client.scope().size() == 0);
    co_await client.stop();
  });
}

TEST_CASE("send, request, create, update, del, receive_once") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    tcp_client client(io, client_for(co_await start_crud(server)));
    co_await client.connect();
    message m = co_await client.request(as_bytes("echo"), {}, as_bytes("hi"));
    CHECK(m.type() == message_type::respond_uri);
    CHECK(content_of(m) == "hi");
    CHECK((co_await client.create(as_bytes("k"), as_bytes("v1"))).type() == message_type::ok);
    CHECK(content_of(co_await client.request(as_bytes("k"))) == "v1");
    CHECK((co_await client.update(as_bytes("k"), as_bytes("v2"))).type() == message_type::ok);
    CHECK(content_of(co_await client.request(as_bytes("k"))) == "v2");
    CHECK((co_await client.del(as_bytes("k"))).type() == message_type::ok);
    CHECK((co_await client.del(as_bytes("k"))).type() == message_type::not_found);
    CHECK((co_await client.update(as_bytes("k"), as_bytes("x"))).type() == message_type::not_found);
    CHECK((co_await client.request(as_bytes("k"))).type() == message_type::not_found);

    // send() waits for nothing: the answer is no request's, so a
    // receive_once waiting already gets it (registered before the send
    // runs: the sender is spawned, and starts once this task waits).
    co_await with_scope([&](task_scope& s) -> task<void> {
      s.spawn([&]() -> task<void> {
        CHECK(co_await client.send(make(message_type::request_uri, "echo", "sent")));
      });
      const message got = co_await client.receive_once({.timeout = 5s});
      CHECK(got.type() == message_type::respond_uri);
      CHECK(content_of(got) == "sent");
    });
    // Nothing comes: receive_once times out, exactly.
    const auto t0 = io.now();
    CHECK_THROWS_AS((void)co_await client.receive_once({.timeout = 2s}), timed_out);
    CHECK(io.now() - t0 == 2s);
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("client handlers: on and once for NOTIFY_URI; unhandled messages are dropped") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    tcp_client client(io, client_for(co_await start_crud(server)));
    co_await client.connect();
    std::vector<std::string> on_got, once_got;
    async_event two;
    client.on(handler_key::of(message_type::notify_uri, "news"), [&](message& m) {
      on_got.push_back(content_of(m));
      if (on_got.size() == 2) two.set();
    });
    client.once(handler_key::of(message_type::notify_uri, "weather"),
                [&](message& m) { once_got.push_back(content_of(m)); });
    (void)co_await client.subscribe(as_bytes("news"));
    (void)co_await client.subscribe(as_bytes("weather"));
    server.notify(as_bytes("weather"), make(message_type::notify_uri, "weather", "rain"));
    server.notify(as_bytes("news"), make(message_type::notify_uri, "news", "one"));
    server.notify(as_bytes("weather"), make(message_type::notify_uri, "weather", "sun"));
    server.notify(as_bytes("sports"), make(message_type::notify_uri, "sports", "none"));
    server.notify(as_bytes("news"), make(message_type::notify_uri, "news", "two"));
    co_await with_timeout(5s, two.wait());
    CHECK(on_got == std::vector<std::string>{"one", "two"});
    CHECK(once_got == std::vector<std::string>{"rain"});  // removed on first use
    // The connection still works: the unhandled "sun" was dropped, not answered.
    CHECK(content_of(co_await client.request(as_bytes("echo"), {}, as_bytes("x"))) == "x");
    CHECK(client.remove_handler(handler_key::of(message_type::notify_uri, "news")));
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("many requests in flight on one connection, several to the same uri, each answered") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    // Answers after a delay that differs per request, so answers interleave
    // with new requests arriving.
    server.on(handler_key::of(message_type::request_uri), [](message& m) -> task<message> {
      co_await sleep_for(std::chrono::milliseconds(content_of(m).size()));
      co_return make_respond_uri_msg<message>(m.body().content(), m.body().uri());
    });
    tcp_client client(io, client_for(co_await server.start()));
    co_await client.connect();
    constexpr int n = 24;
    std::vector<std::string> sent(n), got(n);
    co_await with_scope([&](task_scope& s) -> task<void> {
      for (int i = 0; i < n; ++i) {
        sent[i] = std::string(static_cast<std::size_t>(1 + (i * 7) % 5), 'a' + (i % 26)) +
                  std::to_string(i);
        const std::string uri = i % 3 == 0 ? "other" : "same";
        s.spawn([&, i, uri]() -> task<void> {
          got[i] = content_of(co_await client.request(as_bytes(uri), {}, as_bytes(sent[i])));
        });
      }
      co_return;
    });
    CHECK(got == sent);
    CHECK(client.scope().size() == 1);  // still the one receive loop
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("a plain timeout handler: called once with the kind, server and context") {
  run_io([](io_context& io) -> task<void> {
    tcp_server_options o = local_server();
    o.max_concurrent_handlers = 2;  // the create is handled while the request hangs
    tcp_server server(io, o);
    server.on(handler_key::of(message_type::request_uri, "never"),
              [](message&) -> task<void> { co_await sleep_for(std::chrono::hours(1)); });
    server.on(handler_key::of(message_type::create_uri, "never"),
              [](message&) -> task<void> { co_await sleep_for(std::chrono::hours(1)); });
    const endpoint at = co_await server.start();
    tcp_client client(io, client_for(at));
    co_await client.connect();
    int calls = 0;
    client.set_timeout_handler([&](tcp_client& c, timeout_kind k,
                                   const std::optional<peer_address>& s, const timed_out& e,
                                   const timeout_context& ctx) {
      ++calls;
      CHECK(&c == &client);
      CHECK(k == timeout_kind::request);
      CHECK(to_string(k) == "request_timeout");
      CHECK(s == to_peer_address(at));
      CHECK(std::string_view(e.what()).find("never") != std::string_view::npos);
      CHECK(text(ctx.uri) == "never");
      CHECK(ctx.timeout == 3s);
      // The answers it waited for, as the reference's TimeoutContext keys.
      const std::string at_s = to_string(to_peer_address(at));
      if (calls == 1) {
        CHECK(ctx.keys == std::vector<std::string>{"(AUTH_ERROR, 'never', " + at_s + ")",
                                                   "(ERROR, 'never', " + at_s + ")",
                                                   "(RESPOND_URI, 'never', " + at_s + ")",
                                                   "(NOT_FOUND, 'never', " + at_s + ")"});
      } else {  // a create waits for OK, and not for NOT_FOUND
        CHECK(ctx.keys == std::vector<std::string>{"(AUTH_ERROR, 'never', " + at_s + ")",
                                                   "(ERROR, 'never', " + at_s + ")",
                                                   "(OK, 'never', " + at_s + ")"});
      }
    });
    const auto t0 = io.now();
    CHECK_THROWS_AS((void)co_await client.request(as_bytes("never"), {.timeout = 3s}), timed_out);
    CHECK(io.now() - t0 == 3s);
    CHECK(calls == 1);
    CHECK_THROWS_AS((void)co_await client.create(as_bytes("never"), as_bytes("v"), {.timeout = 3s}),
                    timed_out);
    CHECK(calls == 2);
    CHECK(client.scope().size() == 1);  // a plain handler spawns nothing
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("seed 002: a coroutine timeout handler pending at stop() is cancelled and joined") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    server.on(handler_key::of(message_type::request_uri, "never"),
              [](message&) -> task<void> { co_await sleep_for(std::chrono::hours(1)); });
    tcp_client client(io, client_for(co_await server.start()));
    co_await client.connect();
    auto alive = std::make_shared<int>(0);
    auto finished = std::make_shared<bool>(false);
    client.set_timeout_handler(
        [alive, finished](tcp_client&, timeout_kind, const std::optional<peer_address>&,
                          const timed_out&, const timeout_context&) -> task<void> {
          struct mark {
            int* n;
            explicit mark(int* p) : n(p) { ++*n; }
            ~mark() { --*n; }
          } m(alive.get());
          co_await sleep_for(std::chrono::hours(24));
          *finished = true;
        });
    CHECK_THROWS_AS((void)co_await client.request(as_bytes("never"), {.timeout = 1s}), timed_out);
    CHECK_THROWS_AS((void)co_await client.request(as_bytes("never"), {.timeout = 1s}), timed_out);
    co_await yield();
    CHECK(*alive == 2);
    CHECK(client.scope().size() == 3);  // receive loop + two timeout handlers
    const auto t0 = io.now();
    co_await client.stop();
    CHECK(io.now() == t0);  // cancelled, not waited for
    CHECK(*alive == 0);
    CHECK_FALSE(*finished);
    CHECK(client.scope().size() == 0);
    co_await server.stop();
  });
}

TEST_CASE("an unsealed AUTH_ERROR answer: authentication_failed at once, the connection lives") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    server.set_plugins({hmac_auth_plugin("secret"), {}});
    tcp_client client(io, client_for(co_await start_crud(server)));
    client.set_plugins({hmac_auth_plugin("forged"), {}});
    co_await client.connect();
    const auto t0 = io.now();
    try {
      (void)co_await client.create(as_bytes("k"), as_bytes("v"));
      FAIL("a forged seal was accepted");
    } catch (const authentication_failed& e) {
      CHECK(e.text() == "HMAC auth failed");
    }
    CHECK(io.now() == t0);
    CHECK(client.connected());
    client.set_plugins({hmac_auth_plugin("secret"), {}});
    CHECK((co_await client.create(as_bytes("k"), as_bytes("v"))).type() == message_type::ok);
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("stop from another thread through io.post: the client, then the server") {
  run_io_real_time([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    tcp_client client(io, client_for(co_await start_crud(server)));
    co_await client.connect();
    CHECK(content_of(co_await client.request(as_bytes("echo"), {}, as_bytes("x"))) == "x");
    // stage 1: the client saw its stop; the thread then stops the server.
    std::atomic<int> stage{0};
    std::thread other([&] {
      io.post([&] { client.request_stop(); });
      stage.wait(0);
      io.post([&] { server.request_stop(); });
    });
    bool client_stopped = false;
    try {
      // Only the posted stop can end this (no timer would: real time, 1 h).
      (void)co_await client.receive_once({.timeout = 1h});
    } catch (const io_error&) {
      client_stopped = true;
    }
    CHECK(client_stopped);
    co_await client.stop();  // completes the join
    CHECK(client.scope().size() == 0);
    stage = 1;
    stage.notify_one();
    co_await server.run();  // returns once the posted stop has ended everything
    CHECK(server.scope().size() == 0);
    CHECK(server.connection_count() == 0);
    other.join();
    co_await server.stop();
  });
}

// --- auto-reconnect ------------------------------------------------------------

namespace {

// A "server" that accepted our connection and then hangs: it never answers
// and its listener is gone, so a reconnect is refused until a new server
// listens on the same port.
struct hung_server {
  tcp_stream accepted;
  endpoint at;
};
task<hung_server> hang(io_context& io, tcp_client& client) {
  tcp_listener l = tcp_listener::bind(io, endpoint::parse("127.0.0.1:0"));
  hung_server h;
  h.at = l.local_endpoint();
  co_await client.connect(h.at);
  h.accepted = co_await l.accept();
  co_return h;  // the listener closes here
}

}  // namespace

TEST_CASE("auto_reconnect: reconnects when the server comes back; delays with backoff, exact") {
  run_io([](io_context& io) -> task<void> {
    tcp_client client(io);
    log_capture log;
    client.set_logger(log.make());
    hung_server gone = co_await hang(io, client);
    std::vector<std::chrono::nanoseconds> failures;
    std::optional<std::chrono::nanoseconds> reconnected_at;
    unsigned reconnect_attempt = 0;
    async_event back;
    const auto t0 = io.now();
    client.set_timeout_handler(auto_reconnect({
        .connect_timeout = 2s,
        .max_retries = 5,
        .delay = 1s,
        .backoff = 2.0,
        .on_reconnect = [&](tcp_client& c, const peer_address& a, unsigned attempt) -> task<void> {
          CHECK(a == to_peer_address(gone.at));
          reconnected_at = io.now() - t0;
          reconnect_attempt = attempt;
          // A coroutine callback may talk to the server at once.
          const call_options<message> to{.server = a};  // named: see "several servers"
          const message m = co_await c.request(as_bytes("echo"), to, as_bytes("back"));
          CHECK(content_of(m) == "back");
          back.set();
        },
        .on_failure = [&](tcp_client&, const peer_address&, unsigned,
                          std::exception_ptr) { failures.push_back(io.now() - t0); },
    }));
    tcp_server_options o = local_server();
    o.at = gone.at;  // the same port, once the first "server" is gone
    tcp_server server(io, o);
    install_crud(server, std::make_shared<db_t>());
    const call_options<message> to_gone{.server = to_peer_address(gone.at), .timeout = 1s};
    CHECK_THROWS_AS((void)co_await client.request(as_bytes("echo"), to_gone), timed_out);
    CHECK(io.now() - t0 == 1s);  // the request throws at once
    // Attempts at 1 s, 2 s (after 1 s), 4 s (after 2 s), 8 s (after 4 s):
    // the server is back at 5 s, so the fourth succeeds.
    co_await sleep_for(4s);
    (void)co_await server.start();
    co_await with_timeout(1min, back.wait());
    CHECK(failures == std::vector<std::chrono::nanoseconds>{1s, 2s, 4s});
    CHECK(reconnected_at == 8s);
    CHECK(reconnect_attempt == 4);
    CHECK(client.connected(to_peer_address(gone.at)));
    CHECK(log.contains("reconnect attempt 4/5"));
    CHECK(content_of(co_await client.request(as_bytes("echo"), to_gone, as_bytes("after"))) ==
          "after");
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("auto_reconnect: retries are bounded; a server that never comes back is given up") {
  run_io([](io_context& io) -> task<void> {
    tcp_client client(io);
    log_capture log;
    client.set_logger(log.make());
    hung_server gone = co_await hang(io, client);
    std::vector<std::chrono::nanoseconds> failures;
    std::vector<unsigned> attempts;
    bool reconnected = false;
    const auto t0 = io.now();
    client.set_timeout_handler(auto_reconnect({
        .max_retries = 3,
        .delay = 1s,
        .backoff = 3.0,
        .max_delay = 2500ms,
        .on_reconnect = [&](tcp_client&, const peer_address&, unsigned) { reconnected = true; },
        .on_failure =
            [&](tcp_client&, const peer_address&, unsigned attempt, std::exception_ptr e) {
              failures.push_back(io.now() - t0);
              attempts.push_back(attempt);
              CHECK_THROWS_AS(std::rethrow_exception(e), io_error);
            },
    }));
    // Two requests time out together: one reconnect serves both.
    co_await with_scope([&](task_scope& s) -> task<void> {
      for (int i = 0; i < 2; ++i)
        s.spawn([&]() -> task<void> {
          const call_options<message> to_gone{.server = to_peer_address(gone.at), .timeout = 1s};
          CHECK_THROWS_AS((void)co_await client.request(as_bytes("x"), to_gone), timed_out);
        });
      co_return;
    });
    // The handlers end by themselves: join the client's scope (not stopped).
    co_await with_timeout(1min, client.scope().join());
    // 1 s; +1 s; +min(3 s, 2.5 s).
    CHECK(failures == std::vector<std::chrono::nanoseconds>{1s, 2s, 4500ms});
    CHECK(attempts == std::vector<unsigned>{1, 2, 3});
    CHECK_FALSE(reconnected);
    CHECK(log.contains("failed to reconnect after 3 attempts"));
    CHECK(log.contains("already in progress"));
    CHECK_FALSE(client.connected(to_peer_address(gone.at)));
    co_await client.stop();
  });
}

TEST_CASE("auto_reconnect: stop() during a pending reconnect cancels and joins it") {
  // Stopped while waiting between attempts, and while an attempt's connect
  // hangs (a full accept queue).
  for (const bool during_connect : {false, true}) {
    CAPTURE(during_connect);
    run_io([during_connect](io_context& io) -> task<void> {
      tcp_client client(io);
      std::optional<full_listener> full;
      std::optional<hung_server> gone;
      peer_address target;
      if (during_connect) {
        // Our connection sits in the listener's accept queue, unanswered;
        // fillers fill the queue, so a reconnect's SYN is dropped.
        full.emplace();
        full->listener = tcp_listener::bind(io, endpoint::parse("127.0.0.1:0"), {.backlog = 0});
        full->at = full->listener.local_endpoint();
        co_await client.connect(full->at);
        target = to_peer_address(full->at);
        for (int i = 0; i < 16; ++i) {
          bool stalled = false;
          try {
            full->fillers.push_back(co_await tcp_stream::connect(io, full->at, {.timeout = 1s}));
          } catch (const io_error&) {
            stalled = true;
          }
          if (stalled) break;
        }
      } else {
        gone = co_await hang(io, client);
        target = to_peer_address(gone->at);
      }
      int failures = 0;
      bool reconnected = false;
      client.set_timeout_handler(auto_reconnect({
          .connect_timeout = 10s,
          .max_retries = 5,
          .delay = 10s,
          .on_reconnect = [&](tcp_client&, const peer_address&, unsigned) { reconnected = true; },
          .on_failure = [&](tcp_client&, const peer_address&, unsigned,
                            std::exception_ptr) { ++failures; },
      }));
      const call_options<message> to_target{.server = target, .timeout = 1s};
      CHECK_THROWS_AS((void)co_await client.request(as_bytes("x"), to_target), timed_out);
      co_await sleep_for(5s);  // mid-delay, or mid-connect
      CHECK(failures == (during_connect ? 0 : 1));
      CHECK(client.scope().size() == 1);  // the reconnect (the old connection is closed)
      const auto t0 = io.now();
      co_await client.stop();
      CHECK(io.now() == t0);
      CHECK(client.scope().size() == 0);
      CHECK_FALSE(reconnected);
      CHECK(failures == (during_connect ? 0 : 1));
    });
  }
}

// --- close() and connect() from inside a connection's own handler ---------------

TEST_CASE("a client handler closes its own server's connection: no self-join, the loop ends") {
  // Before: close() joined the receive loop it was running in and hung until
  // something else stopped the client (here: the 1 min limit).
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    tcp_client client(io, client_for(co_await start_crud(server)));
    co_await client.connect();
    async_event closed;
    bool after_close = false;
    client.on(handler_key::of(message_type::notify_uri, "bye"), [&](message&) -> task<void> {
      co_await client.close();
      closed.set();
      CHECK_FALSE(client.connected());
      after_close = true;
      co_await yield();  // the loop was cancelled: this is where the handler ends
      FAIL("a cancelled handler went on");
    });
    (void)co_await client.subscribe(as_bytes("bye"));
    server.notify(as_bytes("bye"), make(message_type::notify_uri, "bye"));
    co_await with_timeout(1min, closed.wait());
    CHECK(after_close);
    // The loop ends by itself: the client's scope empties without a stop.
    co_await with_timeout(1min, client.scope().join());
    CHECK(client.scope().size() == 0);
    CHECK_FALSE(client.connected());
    // The client is usable again.
    co_await client.connect();
    CHECK(content_of(co_await client.request(as_bytes("echo"), {}, as_bytes("again"))) == "again");
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("a client handler reconnects to its own server: the old loop ends, the new one serves") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    tcp_client client(io, client_for(co_await start_crud(server)));
    co_await client.connect();
    async_event reconnected;
    client.once(handler_key::of(message_type::notify_uri, "reconnect"),
                [&](message&) -> task<void> {
                  co_await client.connect();  // replaces the connection running this handler
                  CHECK(client.connected());
                  // A request on the new connection from the old one's handler.
                  const message m = co_await client.request(as_bytes("echo"), {}, as_bytes("new"));
                  CHECK(content_of(m) == "new");
                  reconnected.set();
                });
    (void)co_await client.subscribe(as_bytes("reconnect"));
    server.notify(as_bytes("reconnect"), make(message_type::notify_uri, "reconnect"));
    co_await with_timeout(1min, reconnected.wait());
    // The old loop ends once its handler returns: one loop remains.
    CHECK(co_await eventually([&] { return client.scope().size() == 1; },
                              "the old receive loop ends"));
    CHECK(server.connection_count() == 1);
    CHECK(content_of(co_await client.request(as_bytes("echo"), {}, as_bytes("x"))) == "x");
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE("a cancelled join of the client's scope ends its tasks; destroying it is fine") {
  // Before: ~tcp_client saw stop() never called and terminated the program
  // although nothing of it ran any more.
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    {
      tcp_client client(io, client_for(co_await start_crud(server)));
      co_await client.connect();
      CHECK(client.scope().size() == 1);
      CHECK_THROWS_AS(co_await with_timeout(1s, client.scope().join()), timed_out);
      CHECK(client.scope().size() == 0);
    }
    co_await server.stop();
  });
}

TEST_CASE(
    "a client handler that ignores cancellation: stop returns at the grace, the log names it") {
  // Before: the stuck task went to stderr, not to the client's logger.
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    tcp_client client(io, client_for(co_await start_crud(server)));
    log_capture log;
    client.set_logger(log.make());
    co_await client.connect();
    async_event entered;
    client.on(handler_key::of(message_type::notify_uri, "stuck"), [&](message&) -> task<void> {
      entered.set();
      co_await shield(1h, sleep_for(1h));
    });
    (void)co_await client.subscribe(as_bytes("stuck"));
    server.notify(as_bytes("stuck"), make(message_type::notify_uri, "stuck"));
    co_await with_timeout(1min, entered.wait());
    const auto t0 = io.now();
    co_await client.stop(2s);
    CHECK(io.now() - t0 == 2s);
    CHECK(client.scope().size() == 0);
    bool named = false;
    for (const auto& r : *log.records)
      if (r.level == log_level::error && r.text.find("stop: task 'receive loop 127.0.0.1:") == 0)
        named = true;
    CHECK(named);
    co_await server.stop();
  });
}

TEST_CASE("stop from a coroutine timeout handler; the owner's stop completes it") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    server.on(handler_key::of(message_type::request_uri, "never"),
              [](message&) -> task<void> { co_await sleep_for(std::chrono::hours(1)); });
    tcp_client client(io, client_for(co_await server.start()));
    co_await client.connect();
    bool handler_stopped = false;
    client.set_timeout_handler([&](tcp_client& c, timeout_kind, const std::optional<peer_address>&,
                                   const timed_out&, const timeout_context&) -> task<void> {
      co_await c.stop();  // from inside the client: only cancels
      handler_stopped = true;
    });
    const auto t0 = io.now();
    CHECK_THROWS_AS((void)co_await client.request(as_bytes("never"), {.timeout = 1s}), timed_out);
    CHECK(io.now() - t0 == 1s);
    // The handler's stop cancels the receive loop: the client's scope empties
    // without anyone outside stopping it.
    co_await with_timeout(1min, client.scope().join());
    CHECK(handler_stopped);
    CHECK(client.scope().size() == 0);
    CHECK_FALSE(client.connected());
    CHECK_THROWS_AS(co_await client.connect(), error);  // stopped: no new connection
    co_await client.stop();  // the owner's stop: idempotent, returns at once
    CHECK(io.now() - t0 == 1s);
    co_await server.stop();
  });
}

namespace {
// An inner cipher that changes nothing and counts its live copies, and
// optionally records its calls.
struct counted_cipher {
  static inline int live = 0;
  std::string name = "c";
  std::shared_ptr<std::vector<std::string>> log{};
  std::function<void()> on_decrypt{};
  counted_cipher() { ++live; }
  counted_cipher(std::string n, std::shared_ptr<std::vector<std::string>> l,
                 std::function<void()> f = {})
      : name(std::move(n)), log(std::move(l)), on_decrypt(std::move(f)) {
    ++live;
  }
  counted_cipher(const counted_cipher& o) : name(o.name), log(o.log), on_decrypt(o.on_decrypt) {
    ++live;
  }
  counted_cipher& operator=(const counted_cipher&) = default;
  ~counted_cipher() { --live; }
  message encrypt(const message& m, const plugin_context&) const {
    if (log) log->push_back(name + " enc");
    return m;
  }
  message decrypt(const message& m, const plugin_context&) const {
    if (log) log->push_back(name + " dec");
    if (on_decrypt) on_decrypt();
    return m;
  }
  static constexpr bool is_peer_specific() noexcept { return false; }
};
}  // namespace

TEST_CASE("call options braced inside co_await: the server and the layer are owned once") {
  // g++ 12 destroyed such a temporary twice: the server's name (in its small
  // buffer) freed from inside the caller's frame, the layer's plugin
  // released twice (see core/detail/address_checked.hpp).
  const int live_before = counted_cipher::live;
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    const endpoint at = co_await start_crud(server);
    tcp_client client(io, client_for(at));
    co_await client.connect();
    const peer_address pa = to_peer_address(at);
    const plugin_layer<message> layer{{}, counted_cipher{}};
    const int held = counted_cipher::live;
    const message m =
        co_await client.request(as_bytes("echo"), {.server = pa, .inner = layer}, as_bytes("once"));
    CHECK(content_of(m) == "once");
    CHECK(counted_cipher::live == held);
    CHECK(content_of(co_await client.request(as_bytes("echo"),
                                             call_options<message>{.server = pa, .inner = layer},
                                             as_bytes("twice"))) == "twice");
    CHECK(counted_cipher::live == held);
    co_await client.stop();
    co_await server.stop();
  });
  CHECK(counted_cipher::live == live_before);
}

TEST_CASE("a client handler's answer is sealed with the layer that opened its message") {
  // The client's layer is replaced by its own plugin while it opens the
  // message: the answer still goes out under the layer that opened it.
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    tcp_client client(io, client_for(co_await start_crud(server)));
    auto log = std::make_shared<std::vector<std::string>>();
    bool armed = false;
    const counted_cipher b{"B", log};
    const counted_cipher a{"A", log, [&] {
                             if (!armed) return;
                             armed = false;
                             client.set_plugins({{}, b});
                           }};
    client.set_plugins({{}, a});
    client.on(handler_key::of(message_type::respond_uri, "echo"),
              [](message&) { return make(message_type::notify_uri, "reply", "x"); });
    co_await client.connect();
    armed = true;
    CHECK(co_await client.send(make(message_type::request_uri, "echo", "hi")));
    CHECK(co_await eventually([&] { return log->size() >= 3; }, "the answer sealed"));
    REQUIRE(log->size() >= 3);
    CHECK((*log)[0] == "A enc");  // the request
    CHECK((*log)[1] == "A dec");  // the echo, which replaces the client's layer by B
    CHECK((*log)[2] == "A enc");  // the handler's answer to it
    co_await client.stop();
    co_await server.stop();
  });
}

TEST_CASE(
    "two calls share a replay-guarded layer whose cipher hides the uri: each gets its answer") {
  // The client finds whose answer it is by opening it with each waiting
  // call's layer. Were the seal checked before the uri was seen, the answer's
  // nonce would be spent on a call it is not for, and the call it is for
  // would refuse it as a replay (and time out).
  run_io([](io_context& io) -> task<void> {
    hmac_auth_options ho;
    ho.replay = replay_options{};
    const plugin_layer<message> server_inner{hmac_auth_plugin("s", ho),
                                             sha256_stream_cipher_plugin("k")};
    const plugin_layer<message> call_inner{hmac_auth_plugin("s", ho),
                                           sha256_stream_cipher_plugin("k")};
    tcp_server_options o = local_server();
    o.max_concurrent_handlers = 2;  // the second answer overtakes the first
    tcp_server server(io, o);
    // Keyed by type: the uri is under the inner cipher.
    server.on(
        handler_key::of(message_type::request_uri),
        [](message& m) -> task<message> {
          if (content_of(m) == "slow") co_await sleep_for(100ms);
          co_return make_respond_uri_msg<message>(m.body().content(), m.body().uri());
        },
        server_inner);
    const endpoint at = co_await server.start();
    tcp_client client(io, client_for(at));
    co_await client.connect();
    call_options<message> co;
    co.inner = call_inner;
    co.timeout = 5s;
    const auto call = [&](const char* uri, const char* content) -> task<std::string> {
      try {
        co_return content_of(co_await client.request(as_bytes(uri), co, as_bytes(content)));
      } catch (const timed_out&) {
        co_return "timed out";
      }
    };
    std::string slow, fast;
    co_await with_scope([&](task_scope& s) -> task<void> {
      s.spawn([&]() -> task<void> { slow = co_await call("a", "slow"); });
      s.spawn([&]() -> task<void> { fast = co_await call("b", "fast"); });
      co_return;
    });
    CHECK(slow == "slow");
    CHECK(fast == "fast");
    co_await client.stop();
    co_await server.stop();
  });
}
