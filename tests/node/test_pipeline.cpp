// The receive pipeline and the send-side sealing, byte for byte against what
// the reference's TCPServer answered to requests its TCPClient sealed
// (tests/data/node-pipeline.json, from tests/node/gen_pipeline_vectors.py),
// and the policies around it.
#include <doctest/doctest.h>
#include <netaio/core.hpp>
#include <netaio/plugins.hpp>

#include "node/router_support.hpp"
#include "support/hex.hpp"
#include "support/run.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

using namespace netaio;
using namespace node_test;
using outcome = receive_outcome<message>;
using layer = plugin_layer<message>;

namespace {

const peer_address client_addr{"127.0.0.1", 50000};

const nlohmann::json& vectors() {
  static const nlohmann::json root = [] {
    std::ifstream f(NETAIO_NODE_PIPELINE_VECTORS);
    if (!f) throw std::runtime_error("cannot open " NETAIO_NODE_PIPELINE_VECTORS);
    return nlohmann::json::parse(f);
  }();
  return root;
}

message_type type_named(const std::string& name) {
  for (unsigned v = 0; v < 256; ++v)
    if (default_message_type_name(static_cast<std::uint8_t>(v)) == name)
      return static_cast<message_type>(v);
  throw std::invalid_argument("no message type " + name);
}

// The generator's determinism: every nonce and IV from one counter (bytes
// 1, 2, 3, ... in call order), the clock at 1700000000, splits at n / 2.
struct deterministic {
  std::shared_ptr<std::uint8_t> next = std::make_shared<std::uint8_t>(0);

  std::function<void(std::span<std::uint8_t>)> random() const {
    return [n = next](std::span<std::uint8_t> out) {
      for (auto& b : out)
        b = ++*n;
    };
  }
  layer of(const nlohmann::json& spec) const {
    layer l;
    if (spec.is_null()) return l;
    if (spec.contains("hmac")) {
      hmac_auth_options o;
      o.hmac_field = spec.value("hmac_field", "hmac");
      o.clock = [] { return std::int64_t{1700000000}; };
      o.random = random();
      l.auth = hmac_auth_plugin(spec["hmac"].get<std::string>(), std::move(o));
    }
    if (spec.contains("stream")) {
      sha256_stream_cipher_options o;
      o.iv_field = spec.value("iv_field", "iv");
      o.random = random();
      o.split = [](std::size_t n) { return n / 2; };
      l.cipher = sha256_stream_cipher_plugin(spec["stream"].get<std::string>(), std::move(o));
    }
    return l;
  }
};

// The generator's server: the same four handlers.
void install_reference_handlers(router& r, const layer& inner) {
  r.on(handler_key::of(message_type::request_uri, "echo"),
       [](message& m) { return make_respond_uri_msg(m.body().content(), as_bytes("echo")); });
  r.on(handler_key::of(message_type::publish_uri), [](message& m) { return m; });
  r.on(
      handler_key::of(message_type::create_uri),
      [](message& m) { return make_ok_msg(as_bytes("stored"), m.body().uri()); }, inner);
  r.on(handler_key::of(message_type::delete_uri), [](message&) {});
}

std::string hex_of(const std::optional<message>& m) {
  if (!m) return "";
  message copy = *m;
  return test::to_hex(copy.encode());
}

// A cipher that cannot encrypt (decrypts as the identity).
struct failing_cipher {
  message encrypt(const message&, const plugin_context&) const {
    throw plugin_error("no key for this peer");
  }
  message decrypt(const message& m, const plugin_context&) const { return m; }
  static constexpr bool is_peer_specific() noexcept { return true; }
};

// An auth plugin that records the peer each call was told about.
struct recording_auth {
  std::shared_ptr<std::vector<std::string>> calls = std::make_shared<std::vector<std::string>>();
  template <class A, class B>
  void make(A&, const B&, const plugin_context& ctx) const {
    calls->push_back(std::string("make ") + (ctx.remote ? "with peer" : "no peer"));
  }
  template <class A, class B>
  bool check(const A&, const B&, const plugin_context& ctx) const {
    calls->push_back(std::string("check ") + (ctx.remote ? "with peer" : "no peer"));
    return true;
  }
  message error() const { return make_error_msg("auth failed"); }
  static constexpr bool is_peer_specific() noexcept { return false; }
};

}  // namespace

TEST_CASE("the reference's answers, byte for byte (node-pipeline.json)") {
  const long frames = live_task_frames();
  const auto& all = vectors()["scenarios"];
  REQUIRE(all.size() >= 19);
  // Each scenario through receive(), then through enter() and finish_now()
  // (the reference's handlers are plain), which must answer the same bytes.
  for (const bool split : {false, true})
    for (const auto& s : all) {
      const std::string name = s["name"];
      CAPTURE(name);
      CAPTURE(split);
      deterministic det;
      const layer outer = det.of(s.value("outer", nlohmann::json()));
      const layer inner = det.of(s.value("inner", nlohmann::json()));
      const layer call = det.of(s.value("call", nlohmann::json()));
      router r;
      install_reference_handlers(r, inner);
      log_capture cap;
      pipeline p(r, cap.log, {.outer = outer});
      conn c;

      // The client's side: the send helper seals as the reference's client did.
      const message request =
          make(type_named(s["type"]), s["uri"].get<std::string>(), s["content"].get<std::string>());
      const std::optional<message> sealed = prepare_message(request, call, outer, {}, cap.log);
      REQUIRE(sealed);
      if (!s.contains("tamper")) CHECK(hex_of(sealed) == s["request"].get<std::string>());

      // The server's side, on the reference's (possibly tampered) request frame.
      const byte_buffer frame = test::from_hex(s["request"].get<std::string>());
      outcome out;
      try {
        message received = message::decode(frame);
        if (split) {
          const std::optional<peer_address> from = client_addr;
          auto routed = p.enter(received, from, {});
          CHECK_FALSE(routed.suspends());
          out = p.finish_now(routed, received, c, from, {});
        } else {
          out = test::run_virtual(p.receive(std::move(received), c, client_addr));
        }
      } catch (const wire_error& e) {
        out = p.reject(e.what(), client_addr);
      }
      CHECK(hex_of(out.reply) == s["response"].get<std::string>());

      // The reference's warnings and errors: as many of each, with the peer.
      if (s.value("tamper", "") != "checksum") {
        std::size_t warnings = 0, errors = 0;
        for (const auto& rec : s["log"]) {
          warnings += rec[0] == "warning";
          errors += rec[0] == "error";
        }
        CHECK(cap.at(log_level::warning).size() == warnings);
        CHECK(cap.at(log_level::error).size() == errors);
      }
      for (const auto& rec : cap.records)
        CHECK(rec.peer == client_addr);
    }
  CHECK(live_task_frames() == frames);
}

TEST_CASE("statuses: forged outer HMAC, forged error, decrypt failure, inner forgery") {
  deterministic det;
  router r;
  const layer admin = det.of({{"hmac", "adminpassword"}, {"hmac_field", "camh"}});
  install_reference_handlers(r, admin);
  log_capture cap;
  const layer outer = det.of({{"hmac", "test"}, {"stream", "test"}});
  pipeline p(r, cap.log, {.outer = outer});
  conn c;
  const auto receive = [&](message m) {
    return test::run_virtual(p.receive(std::move(m), c, client_addr));
  };

  // Forged at the outer layer: the plugin's AUTH_ERROR, unsealed.
  message forged =
      *prepare_message(make(message_type::request_uri, "echo", "x"), {}, outer, {}, cap.log);
  forged.auth_data().set("hmac", byte_buffer(32, 0));
  outcome o = receive(forged);
  CHECK(o.status == receive_status::auth_failed);
  CHECK(o.layer == failed_layer::outer);
  REQUIRE(o.reply);
  CHECK(*o.reply == make_error_msg("HMAC auth failed"));
  CHECK(o.reply->auth_data().fields().empty());
  CHECK(cap.has(log_level::warning, "auth check failed (node plugin)"));

  // An error message that fails the check gets no answer at all.
  message forged_error =
      *prepare_message(make(message_type::auth_error, "ERROR", "x"), {}, outer, {}, cap.log);
  forged_error.auth_data().set("hmac", byte_buffer(32, 0));
  o = receive(forged_error);
  CHECK(o.status == receive_status::auth_failed);
  CHECK_FALSE(o.reply);

  // A replaced auth-error answer; one that throws answers nothing.
  r.set_auth_error_handler([](const message& m, const any_auth_plugin<message>&) {
    return std::optional<message>(make(message_type::auth_error, "ERROR", "go away " + uri_of(m)));
  });
  o = receive(forged);
  REQUIRE(o.reply);
  CHECK(content_of(*o.reply).starts_with("go away "));  // the uri is still encrypted
  r.set_auth_error_handler(
      [](const message&, const any_auth_plugin<message>&) -> std::optional<message> {
        throw std::runtime_error("cannot answer");
      });
  o = receive(forged);
  CHECK(o.status == receive_status::auth_failed);
  CHECK_FALSE(o.reply);
  CHECK(cap.has(log_level::error, "the auth-error answer failed: cannot answer"));
  r.set_auth_error_handler(&reference_auth_error_answer<message>);

  // Authentic but undecryptable (no IV): dropped, logged with peer and reason.
  cap.records.clear();
  message no_iv = make(message_type::request_uri, "echo", "x");
  outer.auth.make(no_iv.auth_data(), no_iv.body());
  o = receive(no_iv);
  CHECK(o.status == receive_status::decrypt_failed);
  CHECK(o.layer == failed_layer::outer);
  CHECK_FALSE(o.reply);
  CHECK(o.reason.find("'iv' missing") != std::string::npos);
  const auto warnings = cap.at(log_level::warning);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].peer == client_addr);
  CHECK(warnings[0].text.find("could not decrypt (node plugin)") != std::string::npos);
  CHECK(warnings[0].text.find("'iv' missing") != std::string::npos);

  // A policy may answer a decrypt failure; the answer goes out unsealed.
  p.options().decrypt_error = [](const message&, failed_layer l, std::string_view reason) {
    return std::optional<message>(
        make(message_type::error, "ERROR",
             std::string(l == failed_layer::outer ? "outer: " : "inner: ") + std::string(reason)));
  };
  o = receive(no_iv);
  REQUIRE(o.reply);
  CHECK(o.reply->type() == message_type::error);
  CHECK(content_of(*o.reply).starts_with("outer: "));
  CHECK(o.reply->auth_data().fields().empty());

  // Forged at the handler's layer: the inner plugin's answer, unsealed.
  message inner_forged =
      *prepare_message(make(message_type::create_uri, "thing", "v"), admin, outer, {}, cap.log);
  inner_forged.auth_data().set("camh", byte_buffer(32, 1));
  // (re-seal the outer layer so only the inner check fails)
  inner_forged.auth_data().fields().erase("hmac");
  outer.auth.make(inner_forged.auth_data(), inner_forged.body());
  o = receive(inner_forged);
  CHECK(o.status == receive_status::auth_failed);
  CHECK(o.layer == failed_layer::inner);
  REQUIRE(o.reply);
  CHECK(*o.reply == make_error_msg("HMAC auth failed"));
}

TEST_CASE("a one-shot handler survives a message that fails its inner check") {
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  const layer admin{hmac_auth_plugin("admin"), {}};
  int runs = 0;
  r.once(
      handler_key::of(message_type::ok, "answer"), [&](message&) { ++runs; }, admin);
  // Unauthenticated: refused, and the handler stays for the real answer.
  outcome o = test::run_virtual(p.receive(make(message_type::ok, "answer"), c, client_addr));
  CHECK(o.status == receive_status::auth_failed);
  CHECK(runs == 0);
  CHECK(r.contains_once(handler_key::of(message_type::ok, "answer")));
  // An error-typed message failing the inner check: no answer, and the
  // handler does not run (the reference's TCP server runs it anyway).
  bool error_handler_ran = false;
  r.on(
      handler_key::of(message_type::error, "answer"), [&](message&) { error_handler_ran = true; },
      admin);
  o = test::run_virtual(p.receive(make(message_type::error, "answer"), c, client_addr));
  CHECK(o.status == receive_status::auth_failed);
  CHECK_FALSE(o.reply);
  CHECK_FALSE(error_handler_ran);
  message good = make(message_type::ok, "answer");
  admin.auth.make(good.auth_data(), good.body());
  o = test::run_virtual(p.receive(good, c, client_addr));
  CHECK(o.status == receive_status::handled);
  CHECK(runs == 1);
  CHECK_FALSE(r.contains_once(handler_key::of(message_type::ok, "answer")));
}

TEST_CASE("an answer that cannot be sealed is dropped and logged") {
  router r;
  log_capture cap;
  pipeline p(r, cap.log, {.outer = layer{{}, failing_cipher{}}});
  conn c;
  r.on(handler_key::of(message_type::request_uri), [](message&) { return make_ok_msg(); });
  const outcome o =
      test::run_virtual(p.receive(make(message_type::request_uri, "x"), c, client_addr));
  CHECK(o.status == receive_status::seal_failed);
  CHECK_FALSE(o.reply);
  CHECK(cap.has(log_level::warning, "no key for this peer"));
}

TEST_CASE("invalid frames: answered sealed, plain, or not at all") {
  router r;
  log_capture cap;
  const layer outer{hmac_auth_plugin("test"), {}};
  pipeline p(r, cap.log, {.outer = outer});
  outcome o = p.reject("checksum mismatch", client_addr);
  CHECK(o.status == receive_status::invalid);
  REQUIRE(o.reply);
  CHECK(o.reply->type() == message_type::error);
  CHECK(content_of(*o.reply) == "invalid message");
  CHECK(outer.auth.check(o.reply->auth_data(), o.reply->body()));
  CHECK(cap.has(log_level::warning, "invalid frame: checksum mismatch"));

  p.options().invalid = invalid_frame_policy::answer_plain;
  o = p.reject("bad lengths", client_addr);
  REQUIRE(o.reply);
  CHECK(*o.reply == make_error_msg("invalid message"));

  p.options().invalid = invalid_frame_policy::drop;
  o = p.reject("bad packify", client_addr);
  CHECK_FALSE(o.reply);
  CHECK(o.reason == "bad packify");
}

TEST_CASE("plugins are told about the peer at every step, both layers") {
  router r;
  log_capture cap;
  const recording_auth outer_auth, inner_auth;
  pipeline p(r, cap.log, {.outer = layer{outer_auth, {}}});
  conn c;
  r.on(
      handler_key::of(message_type::request_uri), [](message&) { return make_ok_msg(); },
      layer{inner_auth, {}});
  peer them;
  them.addrs = {client_addr};
  them.id = byte_buffer{1};
  const outcome o =
      test::run_virtual(p.receive(make(message_type::request_uri, "x"), c, client_addr,
                                  {.remote = std::make_shared<const peer>(them)}));
  CHECK(o.status == receive_status::handled);
  CHECK(*outer_auth.calls == std::vector<std::string>{"check with peer", "make with peer"});
  CHECK(*inner_auth.calls == std::vector<std::string>{"check with peer", "make with peer"});
}

TEST_CASE("send side: the reference's order, failures dropped, peer-specific layers") {
  log_capture cap;
  deterministic det;
  const layer inner = det.of(
      {{"hmac", "adminpassword"}, {"hmac_field", "camh"}, {"stream", "in"}, {"iv_field", "iv2"}});
  const layer outer = det.of({{"hmac", "test"}, {"stream", "test"}});
  const message plain = make(message_type::create_uri, "thing", "value");
  const std::optional<message> sealed = prepare_message(plain, inner, outer, {}, cap.log);
  REQUIRE(sealed);
  // Opening in the reverse order gives the message back.
  const opened<message> back = open_layers(*sealed, inner, outer);
  REQUIRE(back.message);
  CHECK(back.message->body() == plain.body());

  CHECK_FALSE(prepare_message(plain, {}, layer{{}, failing_cipher{}}, {}, cap.log, client_addr));
  const auto warnings = cap.at(log_level::warning);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].peer == client_addr);

  CHECK_FALSE(is_peer_specific(outer));
  CHECK(is_peer_specific(layer{{}, failing_cipher{}}));
  CHECK_FALSE(is_peer_specific(layer{}));
}

TEST_CASE("two stream layers sharing one iv field: the inner one cannot decrypt") {
  // The outer cipher overwrites the inner one's IV. The reference decrypts
  // with the wrong IV and hands its handler garbage; we refuse and log.
  deterministic det;
  const layer inner = det.of({{"stream", "inner"}});
  const layer outer = det.of({{"hmac", "test"}, {"stream", "test"}});
  router r;
  log_capture cap;
  pipeline p(r, cap.log, {.outer = outer});
  conn c;
  bool ran = false;
  r.on(
      handler_key::of(message_type::create_uri), [&](message&) { ran = true; }, inner);
  const message sealed =
      *prepare_message(make(message_type::create_uri, "thing", "value"), inner, outer, {}, cap.log);
  const outcome o = test::run_virtual(p.receive(sealed, c, client_addr));
  CHECK(o.status == receive_status::decrypt_failed);
  CHECK(o.layer == failed_layer::inner);
  CHECK_FALSE(ran);
  CHECK(cap.has(log_level::warning, "could not decrypt (handler plugin)"));
}

TEST_CASE("the peer address may be a temporary of the expression that made the task") {
  // The task is made in one statement and run in another, so a reference
  // to the address would outlive the temporary it was bound to.
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  auto t = p.receive(make(message_type::ok, "nobody"), c, peer_address{"10.9.8.7", 4321});
  const outcome o = test::run_virtual(std::move(t));
  CHECK(o.status == receive_status::not_found);
  bool seen = false;
  for (const auto& rec : cap.records)
    seen = seen || (rec.peer && rec.peer->first == "10.9.8.7" && rec.peer->second == 4321);
  CHECK(seen);
}

TEST_CASE("enter() tells coroutine handlers from plain ones; receive_routed() finishes them") {
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  r.on(handler_key::of(message_type::request_uri, "plain"),
       [](message& m) { return make(message_type::respond_uri, "plain", content_of(m)); });
  r.on(handler_key::of(message_type::request_uri, "coro"), [](message& m) -> task<message> {
    co_return make(message_type::respond_uri, "coro", content_of(m) + "!");
  });
  r.on(handler_key::of(message_type::request_uri, "fails"), [](message&) -> task<void> {
    throw std::runtime_error("no luck");
    co_return;
  });
  const std::optional<peer_address> from = client_addr;
  const long frames = live_task_frames();

  message plain = make(message_type::request_uri, "plain", "a");
  auto routed = p.enter(plain, from, {});
  CHECK_FALSE(routed.suspends());
  const outcome now = p.finish_now(routed, plain, c, from, {});
  REQUIRE(now.reply);
  CHECK(content_of(*now.reply) == "a");

  message coro = make(message_type::request_uri, "coro", "b");
  routed = p.enter(coro, from, {});
  CHECK(routed.suspends());
  // Misuse: a coroutine handler cannot finish now; nothing is called or lost.
  CHECK_THROWS_AS(p.finish_now(routed, coro, c, from, {}), netaio::error);
  CHECK(routed.suspends());
  const outcome later =
      test::run_virtual(p.receive_routed(std::move(routed), std::move(coro), c, from, {}));
  CHECK(later.status == receive_status::handled);
  REQUIRE(later.reply);
  CHECK(content_of(*later.reply) == "b!");

  // A coroutine handler that throws: the failure answer, as receive() gives it.
  message fails = make(message_type::request_uri, "fails");
  routed = p.enter(fails, from, {});
  CHECK(routed.suspends());
  const outcome failed =
      test::run_virtual(p.receive_routed(std::move(routed), std::move(fails), c, from, {}));
  CHECK(failed.status == receive_status::handler_failed);
  CHECK(failed.reason == "no luck");
  REQUIRE(failed.reply);
  CHECK(failed.reply->type() == message_type::error);

  // No handler: the default one, which is plain, and the status says so.
  message nobody = make(message_type::request_uri, "nobody");
  routed = p.enter(nobody, from, {});
  CHECK_FALSE(routed.suspends());
  CHECK(p.finish_now(routed, nobody, c, from, {}).status == receive_status::not_found);
  CHECK(live_task_frames() == frames);
}

TEST_CASE("enter() takes a one-shot handler: a second message routed to it runs nothing") {
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  int runs = 0;
  r.once(handler_key::of(message_type::ok, "answer"), [&](message&) { ++runs; });
  const std::optional<peer_address> from = client_addr;
  message first = make(message_type::ok, "answer", "1");
  message second = make(message_type::ok, "answer", "2");
  auto r1 = p.enter(first, from, {});
  CHECK_FALSE(r1.ended);
  CHECK_FALSE(r.contains_once(handler_key::of(message_type::ok, "answer")));
  // Taken before its handler ran: the second message finds the default handler.
  auto r2 = p.enter(second, from, {});
  CHECK(r2.status == receive_status::not_found);
  (void)p.finish_now(r1, first, c, from, {});
  (void)p.finish_now(r2, second, c, from, {});
  CHECK(runs == 1);
}

TEST_CASE("an answer changed after prepare() still goes out with the right checksum") {
  // The pipeline moves the sealed answer in, keeping what prepare() knew;
  // a change made through an accessor must still be measured at encode.
  router r;
  log_capture cap;
  pipeline p(r, cap.log);
  conn c;
  r.on(handler_key::of(message_type::request_uri, "edit"), [](message&) {
    message a = make(message_type::respond_uri, "edit", "before");
    a.body().content() = to_buffer(as_bytes("after, and longer"));
    return a;
  });
  outcome o = test::run_virtual(p.receive(make(message_type::request_uri, "edit"), c, client_addr));
  REQUIRE(o.reply);
  const message back = message::decode(o.reply->encode());  // throws on a stale checksum
  CHECK(content_of(back) == "after, and longer");
  message again = make(message_type::request_uri, "edit");
  auto routed = p.enter(again, client_addr, {});
  o = p.finish_now(routed, again, c, client_addr, {});
  REQUIRE(o.reply);
  CHECK(content_of(message::decode(o.reply->encode())) == "after, and longer");
}
