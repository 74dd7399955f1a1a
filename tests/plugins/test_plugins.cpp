// The reference's plugin tests (tests/test_plugins.py), and the bundled
// plugins' other behaviour: reuse rules, field names, errors, layers.
#include <doctest/doctest.h>
#include <netaio/plugins.hpp>
#include <netaio/wire/message.hpp>
#include <netaio/wire/protocol.hpp>

#include "support/default_types.hpp"

#include "plugins/support.hpp"

#include <string>

using namespace netaio;
using plugins_test::bytes_of;
using test::to_hex;

namespace {

message make_message(std::string_view content, std::string_view uri,
                     message_type t = message_type::publish_uri) {
  return message::prepare(body::prepare(as_bytes(content), as_bytes(uri)), t);
}

std::function<void(std::span<std::uint8_t>)> counter_random() {
  return [n = std::uint8_t{0}](std::span<std::uint8_t> out) mutable {
    for (auto& b : out)
      b = ++n;
  };
}

}  // namespace

static_assert(auth_plugin<hmac_auth_plugin>);
static_assert(auth_plugin<hmac_auth_plugin, message>);
static_assert(cipher_plugin<sha256_stream_cipher_plugin>);
static_assert(cipher_plugin<x25519_cipher_plugin>);
static_assert(!cipher_plugin<hmac_auth_plugin>);
static_assert(!auth_plugin<sha256_stream_cipher_plugin>);
static_assert(peer_plugin<default_peer_plugin>);

TEST_CASE("HMAC auth plugin (reference: test_hmac_auth_plugin)") {
  message m = make_message("hello world, caesar is dead", "123");
  const hmac_auth_plugin auth("test");
  const auto before = m.auth_data();
  auth.make(m.auth_data(), m.body());
  CHECK(before != m.auth_data());
  CHECK(before.find("hmac") == nullptr);
  REQUIRE(m.auth_data().find("hmac") != nullptr);
  CHECK(m.auth_data().find("hmac")->size() == 32);
  CHECK(m.auth_data().find("nonce")->size() == 16);
  CHECK(m.auth_data().find("ts")->size() == 4);
  CHECK(auth.check(m.auth_data(), m.body()));

  // tamper with the message
  m.body().content() = bytes_of("hello world, caesar is alive");
  CHECK_FALSE(auth.check(m.auth_data(), m.body()));
}

TEST_CASE("HMAC auth plugin: survives the wire and rejects a wrong secret") {
  message m = make_message("payload", "uri");
  const hmac_auth_plugin auth("test");
  auth.make(m.auth_data(), m.body());
  const message back = message::decode(m.encode());
  CHECK(auth.check(back.auth_data(), back.body()));
  CHECK_FALSE(hmac_auth_plugin("test2").check(back.auth_data(), back.body()));
  CHECK(hmac_auth_plugin(as_bytes("test")).check(back.auth_data(), back.body()));
}

TEST_CASE("HMAC auth plugin: a missing field fails the check") {
  const hmac_auth_plugin auth("test");
  for (const char* drop : {"hmac", "nonce", "ts"}) {
    message m = make_message("payload", "uri");
    auth.make(m.auth_data(), m.body());
    m.auth_data().fields().erase(drop);
    CHECK_FALSE(auth.check(m.auth_data(), m.body()));
  }
}

TEST_CASE("HMAC auth plugin: nonce and ts reuse rules") {
  const hmac_auth_plugin auth(
      "test", {.clock = [] { return std::int64_t{1'700'000'000}; }, .random = counter_random()});
  SUBCASE("a 16-byte nonce and an existing ts are kept") {
    message m = make_message("x", "y");
    const auto nonce = bytes_of("0123456789abcdef");
    m.auth_data().set("nonce", nonce);
    m.auth_data().set("ts",
                      byte_buffer{0x00, 0x00, 0x00, 0x00, 0x01, 0x02});  // 6 bytes, value fits
    auth.make(m.auth_data(), m.body());
    CHECK(*m.auth_data().find("nonce") == nonce);
    CHECK(to_hex(*m.auth_data().find("ts")) == "00000102");
    CHECK(auth.check(m.auth_data(), m.body()));
  }
  SUBCASE("a nonce of another length is replaced; a missing ts is the clock's") {
    message m = make_message("x", "y");
    m.auth_data().set("nonce", bytes_of("short"));
    auth.make(m.auth_data(), m.body());
    CHECK(to_hex(*m.auth_data().find("nonce")) == "0102030405060708090a0b0c0d0e0f10");
    CHECK(to_hex(*m.auth_data().find("ts")) == "6553f100");
    CHECK(auth.check(m.auth_data(), m.body()));
  }
  SUBCASE("a ts that does not fit 4 bytes is an error") {
    message m = make_message("x", "y");
    m.auth_data().set("ts", byte_buffer{0x01, 0x00, 0x00, 0x00, 0x00});
    CHECK_THROWS_AS(auth.make(m.auth_data(), m.body()), plugin_error);
  }
}

TEST_CASE("HMAC auth plugin: configurable field names") {
  const hmac_auth_plugin auth("s", {.hmac_field = "h", .nonce_field = "n", .ts_field = "t"});
  message m = make_message("x", "y");
  auth.make(m.auth_data(), m.body());
  CHECK(m.auth_data().find("h") != nullptr);
  CHECK(m.auth_data().find("n") != nullptr);
  CHECK(m.auth_data().find("t") != nullptr);
  CHECK(m.auth_data().find("hmac") == nullptr);
  CHECK(auth.check(m.auth_data(), m.body()));
  CHECK_FALSE(hmac_auth_plugin("s").check(m.auth_data(), m.body()));
}

TEST_CASE("HMAC auth plugin: error() is the reference's AUTH_ERROR response") {
  const hmac_auth_plugin auth("test");
  message e = auth.error();
  CHECK(e.type() == message_type::auth_error);
  CHECK(e.body().uri() == bytes_of("ERROR"));
  CHECK(e.body().content() == bytes_of("HMAC auth failed"));
  CHECK_FALSE(hmac_auth_plugin::is_peer_specific());
}

TEST_CASE("SHA-256 stream cipher plugin (reference: test_sha256_stream_cipher_plugin)") {
  message m = make_message("brutus is plotting something sus", "123");
  const sha256_stream_cipher_plugin cipher("test");
  const auto before = m.body().encode();
  CHECK(m.auth_data().find("iv") == nullptr);
  m = cipher.encrypt(m);
  CHECK(m.auth_data().find("iv") != nullptr);
  CHECK(m.body().encode() != before);
  const message d = cipher.decrypt(m);
  CHECK(d.body().encode() == before);

  // without uri cipher
  const sha256_stream_cipher_plugin no_uri("test", {.encrypt_uri = false});
  const auto before2 = m.body().encode();
  const auto before_uri = m.body().uri();
  m = no_uri.encrypt(m);
  CHECK(m.auth_data().find("iv") != nullptr);
  CHECK(m.body().encode() != before2);
  CHECK(m.body().uri() == before_uri);
  CHECK(no_uri.decrypt(m).body().encode() == before2);
}

TEST_CASE("SHA-256 stream cipher plugin: uri split, fresh IVs, wrong key, missing IV") {
  const sha256_stream_cipher_plugin cipher("test");
  const message m = make_message("content", "some/uri");
  for (int i = 0; i < 50; ++i) {
    const message e = cipher.encrypt(m);
    const std::size_t total = e.body().uri().size() + e.body().content().size();
    REQUIRE(total == 2 + 8 + 7);
    REQUIRE(e.body().uri().size() >= 1);
    REQUIRE(e.body().content().size() >= 1);
    REQUIRE(cipher.decrypt(message::decode(message(e).encode())).body() == m.body());
  }
  CHECK(*cipher.encrypt(m).auth_data().find("iv") != *cipher.encrypt(m).auth_data().find("iv"));
  // The empty message still has its uri length to encrypt, so it splits.
  const message empty = make_message("", "");
  CHECK(cipher.decrypt(cipher.encrypt(empty)).body() == empty.body());
  // A wrong key gives garbage or a typed error, never the plaintext.
  const message e = cipher.encrypt(m);
  bool differs = true;
  try {
    differs = sha256_stream_cipher_plugin("tesT").decrypt(e).body() != m.body();
  } catch (const decryption_error&) {
  }
  CHECK(differs);
  message no_iv = e;
  no_iv.auth_data().fields().erase("iv");
  CHECK_THROWS_AS(cipher.decrypt(no_iv), plugin_error);
  const sha256_stream_cipher_plugin bad_split("test", {.split = [](std::size_t n) { return n; }});
  CHECK_THROWS_AS(bad_split.encrypt(m), plugin_error);
}

TEST_CASE("HMAC with stream cipher (reference: test_hmac_auth_plugin_with_cipher)") {
  const message m = make_message("brutus attacks, pls send backup", "123");
  const auto before = m.body().encode();
  const hmac_auth_plugin auth("test");
  const sha256_stream_cipher_plugin cipher("test");

  // encrypt and authenticate
  message msg = cipher.encrypt(m);
  auth.make(msg.auth_data(), msg.body());
  CHECK(msg.body().encode() != before);
  CHECK(msg.auth_data().find("hmac") != nullptr);
  CHECK(msg.auth_data().find("iv") != nullptr);
  // authenticate and decrypt
  CHECK(auth.check(msg.auth_data(), msg.body()));
  msg = cipher.decrypt(msg);
  CHECK(msg.body().encode() == before);

  // tamper with the message, then re-encrypt but don't re-authenticate
  msg.body().content() = bytes_of("everything is fine");
  const auto tampered = msg.body().encode();
  msg = cipher.encrypt(msg);
  CHECK(msg.auth_data().find("hmac") != nullptr);
  CHECK(msg.body().encode() != tampered);
  // auth plugin catches the tampering
  CHECK_FALSE(auth.check(msg.auth_data(), msg.body()));
}

TEST_CASE("two layers of plugins (reference: test_two_layers_of_plugins)") {
  message m = make_message("eschew republic, establish empire", "123");
  const auto before = m.body().encode();
  const hmac_auth_plugin auth_outer("test");
  const sha256_stream_cipher_plugin cipher_outer("test");
  const hmac_auth_plugin auth_inner("test2", {.hmac_field = "hmac2"});
  const sha256_stream_cipher_plugin cipher_inner("test2",
                                                 {.iv_field = "iv2", .encrypt_uri = false});

  SUBCASE("by hand, as the reference test does") {
    m = cipher_inner.encrypt(m);
    auth_inner.make(m.auth_data(), m.body());
    m = cipher_outer.encrypt(m);
    auth_outer.make(m.auth_data(), m.body());
    CHECK(m.body().encode() != before);
    for (const char* f : {"hmac", "iv", "hmac2", "iv2"})
      CHECK(m.auth_data().find(f) != nullptr);

    CHECK(auth_outer.check(m.auth_data(), m.body()));
    m = cipher_outer.decrypt(m);
    CHECK(auth_inner.check(m.auth_data(), m.body()));
    m = cipher_inner.decrypt(m);
    CHECK(m.body().encode() == before);
  }
  SUBCASE("through seal_layers / open_layers, across the wire") {
    const plugin_layer<message> inner{auth_inner, cipher_inner};
    const plugin_layer<message> outer{auth_outer, cipher_outer};
    message sealed = seal_layers(m, inner, outer);
    for (const char* f : {"hmac", "iv", "hmac2", "iv2"})
      CHECK(sealed.auth_data().find(f) != nullptr);
    auto got = open_layers(message::decode(sealed.encode()), inner, outer);
    REQUIRE(got.message.has_value());
    CHECK(got.failed == failed_layer::none);
    CHECK(got.message->body().encode() == before);

    // Swapping the layers' order on receive fails the outer check.
    auto wrong = open_layers(message::decode(sealed.encode()), outer, inner);
    CHECK_FALSE(wrong.message.has_value());
    CHECK(wrong.failed == failed_layer::outer);

    // An inner layer with another secret fails the inner check.
    const plugin_layer<message> other_inner{hmac_auth_plugin("nope", {.hmac_field = "hmac2"}),
                                            cipher_inner};
    auto bad = open_layers(message::decode(sealed.encode()), other_inner, outer);
    CHECK(bad.failed == failed_layer::inner);
    CHECK(bad.message == std::nullopt);
  }
}

TEST_CASE("layers: empty layers pass messages through; any_* handles share plugins") {
  const message m = make_message("a", "b");
  const plugin_layer<message> none;
  CHECK(seal_layers(m, none, none) == m);
  auto opened_msg = open_layers(m, none, none);
  REQUIRE(opened_msg.message);
  CHECK(*opened_msg.message == m);

  auto shared = std::make_shared<hmac_auth_plugin>("k");
  any_auth_plugin<message> a = shared;
  any_auth_plugin<message> b = a;
  message x = m;
  b.make(x.auth_data(), x.body());
  CHECK(shared->check(x.auth_data(), x.body()));
  CHECK(a.error().type() == message_type::auth_error);
  CHECK_FALSE(a.is_peer_specific());
  any_auth_plugin<message> empty;
  CHECK_FALSE(static_cast<bool>(empty));
  CHECK_THROWS_AS(empty.error(), plugin_error);
  any_cipher_plugin<message> c = x25519_cipher_plugin(byte_buffer(32, 9));
  CHECK(c.is_peer_specific());
}

TEST_CASE("X25519 cipher plugin: peers encrypt to each other") {
  const default_peer_plugin pp;
  const x25519_cipher_plugin alice(byte_buffer(32, 0xa1));
  const x25519_cipher_plugin bob(byte_buffer(32, 0xb0));
  auto peer_of = [&](const x25519_cipher_plugin& p, std::string_view id) {
    peer out;
    out.id = bytes_of(id);
    out.data = pp.encode_data(packify::value::dict({
        {"pubkey", packify::value::bytes(p.public_key())},
        {"vkey", packify::value::bytes(p.verify_key())},
    }));
    return out;
  };
  const auto alice_peer = std::make_shared<const peer>(peer_of(alice, "alice"));
  const auto bob_peer = std::make_shared<const peer>(peer_of(bob, "bob"));
  const plugin_context to_bob{.remote = bob_peer, .peer_plugin = pp};
  const plugin_context from_alice{.remote = alice_peer, .peer_plugin = pp};
  const message m = make_message("veni vidi vici", "gallia");

  SUBCASE("content only (the reference's default)") {
    const message e = alice.encrypt(m, to_bob);
    CHECK(e.body().uri() == m.body().uri());
    CHECK(e.body().content().size() == 24 + 16 + m.body().content().size());
    CHECK(e.auth_data() == m.auth_data());
    const message d = bob.decrypt(message::decode(message(e).encode()), from_alice);
    CHECK(d.body() == m.body());
    // Alice cannot read what she sent to Bob with Bob's key as "from Bob"...
    const plugin_context from_bob{.remote = bob_peer, .peer_plugin = pp};
    CHECK_THROWS_AS(alice.decrypt(e, from_alice), decryption_error);
    // ...but a box is symmetric in the pair: Alice opens it with Bob's public key.
    CHECK(alice.decrypt(e, from_bob).body() == m.body());
  }
  SUBCASE("uri too") {
    const x25519_cipher_plugin alice_u(byte_buffer(32, 0xa1), {.encrypt_uri = true});
    const x25519_cipher_plugin bob_u(byte_buffer(32, 0xb0), {.encrypt_uri = true});
    for (int i = 0; i < 20; ++i) {
      const message e = alice_u.encrypt(m, to_bob);
      REQUIRE(e.body().uri().size() + e.body().content().size() == 24 + 16 + 2 + 6 + 14);
      REQUIRE(bob_u.decrypt(e, from_alice).body() == m.body());
    }
  }
  SUBCASE("missing peer, peer plugin, data or pubkey are typed errors") {
    CHECK_THROWS_AS(alice.encrypt(m), plugin_error);
    CHECK_THROWS_AS(alice.encrypt(m, {.remote = bob_peer}), plugin_error);
    peer no_key = *bob_peer;
    no_key.data =
        pp.encode_data(packify::value::dict({{"vkey", packify::value::bytes(bob.verify_key())}}));
    CHECK_THROWS_AS(
        alice.encrypt(m, {.remote = std::make_shared<const peer>(no_key), .peer_plugin = pp}),
        plugin_error);
    no_key.data =
        pp.encode_data(packify::value::dict({{"pubkey", packify::value::bytes(byte_buffer(31))}}));
    CHECK_THROWS_AS(
        alice.encrypt(m, {.remote = std::make_shared<const peer>(no_key), .peer_plugin = pp}),
        plugin_error);
    no_key.data = std::nullopt;
    CHECK_THROWS_AS(
        alice.encrypt(m, {.remote = std::make_shared<const peer>(no_key), .peer_plugin = pp}),
        plugin_error);
    CHECK_THROWS_AS(x25519_cipher_plugin(byte_buffer(16)), plugin_error);
  }
  SUBCASE("tampering is rejected") {
    const message e = alice.encrypt(m, to_bob);
    for (std::size_t i = 0; i < e.body().content().size(); ++i) {
      message t = e;
      t.body().content()[i] ^= 0x01;
      REQUIRE_THROWS_AS(bob.decrypt(t, from_alice), decryption_error);
    }
  }
}

TEST_CASE("a plugin context owns its peers: the caller's copy may go away") {
  const x25519_cipher_plugin alice(byte_buffer(32, 0xa1));
  const x25519_cipher_plugin bob(byte_buffer(32, 0xb0));
  const default_peer_plugin pp;
  auto peer_of = [&](const x25519_cipher_plugin& p) {
    auto out = std::make_shared<peer>();
    out->id = byte_buffer{1};
    out->data =
        pp.encode_data(packify::value::dict({{"pubkey", packify::value::bytes(p.public_key())}}));
    return out;
  };
  plugin_context to_bob{.peer_plugin = pp};
  plugin_context from_alice{.peer_plugin = pp};
  {
    auto b = peer_of(bob);
    to_bob.remote = b;
    from_alice.remote = peer_of(alice);
    b.reset();  // the caller's pointer goes away...
  }
  // ...the context's does not (under ASan, a use after free would show here).
  REQUIRE(to_bob.remote->data);
  const message m = make_message("carried", "away");
  const plugin_context copy = to_bob;  // copies share the snapshot
  CHECK(copy.remote == to_bob.remote);
  CHECK(bob.decrypt(alice.encrypt(m, copy), from_alice).body() == m.body());
}

namespace {

enum class custom_types : std::uint8_t { NETAIO_DEFAULT_TYPES, launch = 77 };
using custom_message = protocol_for<custom_types>::message_t;

}  // namespace

static_assert(auth_plugin<hmac_auth_plugin, custom_message>);
static_assert(cipher_plugin<sha256_stream_cipher_plugin, custom_message>);
static_assert(cipher_plugin<aead_cipher_plugin, custom_message>);
static_assert(cipher_plugin<x25519_cipher_plugin, custom_message>);

TEST_CASE("plugins work with another protocol policy (custom message types)") {
  const plugin_layer<custom_message> inner{nullptr, aead_cipher_plugin("k2")};
  const plugin_layer<custom_message> outer{hmac_auth_plugin("s"), sha256_stream_cipher_plugin("k")};
  const custom_message m = custom_message::prepare(
      body::prepare(as_bytes("ignite"), as_bytes("rocket")), custom_types::launch);
  custom_message sealed = seal_layers(m, inner, outer);
  CHECK(sealed.type() == custom_types::launch);
  const auto got = open_layers(custom_message::decode(sealed.encode()), inner, outer);
  REQUIRE(got.message);
  CHECK(got.message->body() == m.body());
  CHECK(got.message->type() == custom_types::launch);
  const custom_message e = outer.auth.error();
  CHECK(e.type() == custom_types::auth_error);
}
