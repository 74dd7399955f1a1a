// The handler registry and the dispatch around it (the pipeline without
// plugins): key precedence, one-shot handlers, handlers that change the
// table while they run, coroutine handlers, handlers that throw.
#include <doctest/doctest.h>
#include <netaio/core.hpp>

#include "node/router_support.hpp"
#include "support/run.hpp"

#include <memory>
#include <stdexcept>
#include <string>

using namespace netaio;
using namespace node_test;
using namespace std::chrono_literals;
using outcome = receive_outcome<message>;

namespace {

const peer_address alice{"10.0.0.1", 1000};
const peer_address bob{"10.0.0.2", 2000};

outcome run_one(pipeline& p, message m, conn& c,
                std::optional<peer_address> from = peer_address{"10.0.0.1", 1000}) {
  return test::run_virtual(p.receive(std::move(m), c, std::move(from)));
}

// A handler answering OK with `what` as content.
auto answer(std::string what) {
  return [what](message&) { return make(message_type::ok, "", what); };
}

std::string reply_text(const outcome& o) {
  return o.reply ? content_of(*o.reply) : "<none>";
}

}  // namespace

static_assert(message_handler<decltype(answer("")), message, conn>);
static_assert(message_handler<void (*)(const message&, conn&), message, conn>);
static_assert(message_handler<task<void> (*)(message&), message, conn>);
static_assert(message_handler<task<std::optional<message>> (*)(message&, conn&), message, conn>);
static_assert(!message_handler<int (*)(message&, conn&), message, conn>);
static_assert(!message_handler<task<int> (*)(message&), message, conn>);
static_assert(!message_handler<void (*)(int), message, conn>);

TEST_CASE("keys: (type, uri, peer) before (type, uri) before type") {
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  r.on(handler_key::of(message_type::request_uri), answer("type"));
  r.on(handler_key::of(message_type::request_uri, "echo"), answer("type+uri"));
  r.on(handler_key::of(message_type::request_uri, "echo", alice), answer("type+uri+peer"));

  CHECK(reply_text(run_one(p, make(message_type::request_uri, "echo"), c, alice)) ==
        "type+uri+peer");
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "echo"), c, bob)) == "type+uri");
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "other"), c, alice)) == "type");

  r.remove(handler_key::of(message_type::request_uri, "echo", alice));
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "echo"), c, alice)) == "type+uri");
  r.remove(handler_key::of(message_type::request_uri, "echo"));
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "echo"), c, alice)) == "type");

  // (type, uri, None) is the key of a message from nowhere in particular.
  r.on(handler_key::of(message_type::request_uri, "echo", std::nullopt), answer("no peer"));
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "echo"), c, std::nullopt)) ==
        "no peer");
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "echo"), c, alice)) == "type");
}

TEST_CASE("handlers keyed by address are found however the table changed before") {
  // The router skips the address key while no handler has one: it must
  // notice every way such a handler comes and goes.
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  const auto echo_from = [](const peer_address& a) {
    return handler_key::of(message_type::request_uri, "echo", a);
  };
  const auto ask = [&](const peer_address& from) {
    return reply_text(run_one(p, make(message_type::request_uri, "echo"), c, from));
  };
  r.on(handler_key::of(message_type::request_uri, "echo"), answer("any"));
  CHECK(ask(alice) == "any");
  r.on(echo_from(alice), answer("alice"));
  r.on(echo_from(alice), answer("alice again"));  // replaced: still one
  r.on(echo_from(bob), answer("bob"));
  CHECK(ask(alice) == "alice again");
  CHECK(ask(bob) == "bob");
  CHECK(r.remove(echo_from(bob)));
  CHECK(!r.remove(echo_from(bob)));  // not there: counts nothing
  CHECK(ask(bob) == "any");
  CHECK(ask(alice) == "alice again");  // alice's is still counted
  CHECK(r.remove(echo_from(alice)));
  CHECK(ask(alice) == "any");

  r.once(echo_from(bob), answer("bob once"));
  CHECK(ask(bob) == "bob once");  // consumed
  CHECK(ask(bob) == "any");
  r.once(echo_from(bob), answer("bob once more"));
  CHECK(r.remove_once(echo_from(bob)));
  CHECK(ask(bob) == "any");

  r.on(echo_from(alice), answer("alice"));
  r.clear();
  r.on(handler_key::of(message_type::request_uri, "echo"), answer("after clear"));
  CHECK(ask(alice) == "after clear");
  r.on(echo_from(alice), answer("alice after clear"));
  CHECK(ask(alice) == "alice after clear");
}

TEST_CASE("no handler: the reference's not-found answer, logged with the keys") {
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  const outcome o = run_one(p, make(message_type::update_uri, "nothing", "x"), c, alice);
  CHECK(o.status == receive_status::not_found);
  REQUIRE(o.reply);
  CHECK(o.reply->type() == message_type::not_found);
  CHECK(content_of(*o.reply) == "not found");
  CHECK(uri_of(*o.reply).empty());
  CHECK(*o.reply == make_not_found_msg());
  REQUIRE(cap.at(log_level::warning).size() == 1);
  const record w = cap.at(log_level::warning)[0];
  CHECK(w.peer == alice);
  CHECK(w.text.find("[(UPDATE_URI, 'nothing', 10.0.0.1:1000), (UPDATE_URI, 'nothing'), "
                    "UPDATE_URI]") != std::string::npos);

  // A replaced default handler answers instead.
  r.set_default_handler([](message& m, conn& cn) {
    return make(message_type::error, "", "nobody home for " + uri_of(m) + std::to_string(cn.id));
  });
  c.id = 4;
  CHECK(reply_text(run_one(p, make(message_type::update_uri, "x"), c)) == "nobody home for x4");
}

TEST_CASE("describe: keys as the logs show them") {
  const router r;
  CHECK(r.describe(handler_key::of(message_type::ok)) == "OK");
  CHECK(r.describe(handler_key::of(message_type::ok, "a'b\x01")) == "(OK, 'a\\x27b\\x01')");
  CHECK(r.describe(handler_key::of(message_type::ok, "u", std::nullopt)) == "(OK, 'u', None)");
  CHECK(r.describe(handler_key::of(message_type::ok, "u", peer_address{"::1", 5})) ==
        "(OK, 'u', [::1]:5)");
  CHECK(r.describe(r.default_route()) == "default handler");
  const auto keys = r.extract(make(message_type::notify_uri, "n"), bob);
  CHECK(keys[0] == handler_key::of(message_type::notify_uri, "n", bob));
  CHECK(keys[1] == handler_key::of(message_type::notify_uri, "n"));
  CHECK(keys[2] == handler_key::of(message_type::notify_uri));
}

TEST_CASE("once: used for one message, then removed; first at its own key only") {
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  const auto k = handler_key::of(message_type::request_uri, "q");
  r.on(k, answer("on"));
  r.once(k, answer("once"));
  CHECK(r.size() == 2);
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "q"), c)) == "once");
  CHECK_FALSE(r.contains_once(k));
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "q"), c)) == "on");
  CHECK_FALSE(r.remove_once(k));
  CHECK(r.remove(k));

  // A handler at a more specific key wins over a one-shot one at a general key.
  r.add(handler_key::of(message_type::request_uri, "q"), answer("specific"));
  r.add_once(handler_key::of(message_type::request_uri), answer("general once"));
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "q"), c)) == "specific");
  CHECK(r.contains_once(handler_key::of(message_type::request_uri)));
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "z"), c)) == "general once");
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "z"), c)) == "not found");
}

TEST_CASE("once: two messages arriving while its coroutine is suspended run it once") {
  const long frames = live_task_frames();
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  async_event gate;
  int runs = 0;
  r.once(handler_key::of(message_type::ok, "reply"),
         [&](message& m, conn&) -> task<std::optional<message>> {
           ++runs;
           co_await gate.wait();
           co_return make(message_type::ok, "", "took " + content_of(m));
         });
  auto second = [&]() -> task<outcome> {
    co_await yield();  // the first message is now inside the handler
    auto o = co_await p.receive(make(message_type::ok, "reply", "2"), c, alice);
    gate.set();
    co_return o;
  };
  auto [a, b] = test::run_virtual(
      when_all(p.receive(make(message_type::ok, "reply", "1"), c, alice), second()));
  CHECK(runs == 1);
  CHECK(a.status == receive_status::handled);
  CHECK(reply_text(a) == "took 1");
  CHECK(b.status == receive_status::not_found);
  CHECK(live_task_frames() == frames);
}

TEST_CASE("handlers may remove themselves while running, plain or suspended") {
  const long frames = live_task_frames();
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  const auto plain_key = handler_key::of(message_type::request_uri, "plain");
  const auto coro_key = handler_key::of(message_type::request_uri, "coro");
  // Captured state lives in the handler's entry: it must outlive the removal.
  r.on(plain_key, [&r, plain_key, state = std::string(100, 'p')](message&) {
    CHECK(r.remove(plain_key));
    return make(message_type::ok, "", state);
  });
  r.on(coro_key,
       [&r, coro_key, state = std::string(100, 'c')](message&) -> task<std::optional<message>> {
         CHECK(r.remove(coro_key));
         co_await yield();
         co_return make(message_type::ok, "", state);
       });
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "plain"), c)) ==
        std::string(100, 'p'));
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "coro"), c)) ==
        std::string(100, 'c'));
  CHECK(r.size() == 0);
  CHECK(run_one(p, make(message_type::request_uri, "plain"), c).status ==
        receive_status::not_found);
  CHECK(live_task_frames() == frames);
}

TEST_CASE("handlers may add, replace and clear handlers while running") {
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  const auto k = handler_key::of(message_type::request_uri, "k");
  int generation = 0;
  // Replaces itself with its successor on every call, from inside the call.
  std::function<void()> install = [&] {
    r.on(k, [&, g = generation](message&) {
      ++generation;
      install();
      for (int i = 0; i < 64; ++i)  // force rehashes under the running handler
        r.on(handler_key::of(message_type::create_uri, std::to_string(i)), answer("filler"));
      return make(message_type::ok, "", "gen " + std::to_string(g));
    });
  };
  install();
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "k"), c)) == "gen 0");
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "k"), c)) == "gen 1");

  // A one-shot handler that re-arms itself keeps the new one.
  const auto once_key = handler_key::of(message_type::ok, "again");
  int armed = 0;
  std::function<void()> arm = [&] {
    r.once(once_key, [&](message&) {
      if (++armed < 3) arm();
      return make(message_type::ok, "", "armed " + std::to_string(armed));
    });
  };
  arm();
  CHECK(reply_text(run_one(p, make(message_type::ok, "again"), c)) == "armed 1");
  CHECK(reply_text(run_one(p, make(message_type::ok, "again"), c)) == "armed 2");
  CHECK(reply_text(run_one(p, make(message_type::ok, "again"), c)) == "armed 3");
  CHECK(run_one(p, make(message_type::ok, "again"), c).status == receive_status::not_found);

  // Clearing the whole table from a handler, and replacing the default
  // handler from inside the default handler.
  r.on(handler_key::of(message_type::delete_uri), [&](message&) {
    r.clear();
    return make(message_type::ok, "", "cleared");
  });
  CHECK(reply_text(run_one(p, make(message_type::delete_uri, "x"), c)) == "cleared");
  CHECK(r.size() == 0);
  r.set_default_handler([&, state = std::string("first default")](message&) {
    r.set_default_handler(answer("second default"));
    return make(message_type::ok, "", state);
  });
  CHECK(reply_text(run_one(p, make(message_type::delete_uri, "x"), c)) == "first default");
  CHECK(reply_text(run_one(p, make(message_type::delete_uri, "x"), c)) == "second default");
}

TEST_CASE("handler shapes: plain or coroutine, with or without the connection") {
  const long frames = live_task_frames();
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c{42};
  const auto key = [](std::string_view u) { return handler_key::of(message_type::request_uri, u); };
  int side_effects = 0;
  r.on(key("void"), [&](message&, conn& cn) { side_effects += cn.id; });
  r.on(key("msg"), [](const message& m) { return make(message_type::ok, "", content_of(m)); });
  r.on(key("opt"), [](message&) -> std::optional<message> { return std::nullopt; });
  r.on(key("task-opt"), [](message& m, conn& cn) -> task<std::optional<message>> {
    co_await yield();
    co_return make(message_type::ok, "", content_of(m) + std::to_string(cn.id));
  });
  r.on(key("task-msg"), [](message m) -> task<message> {
    co_await sleep_for(1s);
    co_return make(message_type::ok, "", "late " + content_of(m));
  });
  r.on(key("task-void"), [&](message&) -> task<void> {
    co_await yield();
    ++side_effects;
  });

  CHECK_FALSE(run_one(p, make(message_type::request_uri, "void"), c).reply);
  CHECK(side_effects == 42);
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "msg", "m"), c)) == "m");
  const outcome none = run_one(p, make(message_type::request_uri, "opt"), c);
  CHECK(none.status == receive_status::handled);
  CHECK_FALSE(none.reply);
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "task-opt", "t"), c)) == "t42");
  CHECK(reply_text(run_one(p, make(message_type::request_uri, "task-msg", "x"), c)) == "late x");
  CHECK_FALSE(run_one(p, make(message_type::request_uri, "task-void"), c).reply);
  CHECK(side_effects == 43);
  CHECK(live_task_frames() == frames);
}

TEST_CASE("a handler that throws: logged at error with key and peer, answered with ERROR") {
  const long frames = live_task_frames();
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  r.on(handler_key::of(message_type::request_uri, "sync"),
       [](message&) -> std::optional<message> { throw std::runtime_error("sync boom"); });
  r.on(handler_key::of(message_type::request_uri, "coro"),
       [](message&) -> task<std::optional<message>> {
         co_await sleep_for(2s);
         throw std::runtime_error("coro boom");
       });
  r.on(handler_key::of(message_type::request_uri, "odd"), [](message&) { throw 7; });

  for (const char* uri : {"sync", "coro", "odd"}) {
    CAPTURE(uri);
    cap.records.clear();
    const outcome o = run_one(p, make(message_type::request_uri, uri), c, bob);
    CHECK(o.status == receive_status::handler_failed);
    REQUIRE(o.reply);
    CHECK(*o.reply == make_error_msg("internal error"));
    CHECK(o.reply->type() == message_type::error);
    CHECK(uri_of(*o.reply) == "ERROR");
    const auto errors = cap.at(log_level::error);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].peer == bob);
    CHECK(errors[0].text.find("(REQUEST_URI, '" + std::string(uri) + "')") != std::string::npos);
  }
  CHECK(cap.has(log_level::error, "an exception not derived from std::exception"));
  cap.records.clear();
  run_one(p, make(message_type::request_uri, "coro"), c, bob);
  CHECK(cap.has(log_level::error, "coro boom"));

  // The default handler failing is named so; a custom failure answer.
  r.set_default_handler([](message&) -> message { throw std::logic_error("no default"); });
  r.set_failure_handler([](const message& m, std::exception_ptr) {
    return std::optional<message>(make(message_type::error, "ERROR", "sorry " + uri_of(m)));
  });
  cap.records.clear();
  const outcome o = run_one(p, make(message_type::update_uri, "u"), c);
  CHECK(o.status == receive_status::handler_failed);
  CHECK(reply_text(o) == "sorry u");
  CHECK(cap.has(log_level::error, "handler default handler failed: no default"));
  r.set_failure_handler([](const message&, std::exception_ptr) { return std::nullopt; });
  CHECK_FALSE(run_one(p, make(message_type::update_uri, "u"), c).reply);
  // A failure answer that itself throws: logged, nothing sent, nothing thrown.
  r.set_failure_handler([](const message&, std::exception_ptr e) -> std::optional<message> {
    std::rethrow_exception(e);
  });
  cap.records.clear();
  CHECK_FALSE(run_one(p, make(message_type::update_uri, "u"), c).reply);
  CHECK(cap.has(log_level::error, "the failure answer failed: no default"));
  CHECK(live_task_frames() == frames);
}

TEST_CASE("cancellation of a running handler is not a handler failure") {
  const long frames = live_task_frames();
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  bool finished = false;
  r.on(handler_key::of(message_type::request_uri), [&](message&) -> task<void> {
    co_await sleep_for(10s);
    finished = true;
  });
  auto body = [&]() -> task<void> {
    bool timed = false;
    try {
      co_await with_timeout(1s, p.receive(make(message_type::request_uri, "slow"), c, alice));
    } catch (const timed_out&) {
      timed = true;
    }
    CHECK(timed);
  };
  test::run_virtual(body());
  CHECK_FALSE(finished);
  CHECK(cap.at(log_level::error).empty());
  CHECK(live_task_frames() == frames);
}
