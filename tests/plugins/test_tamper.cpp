// Tampering and replay: every flipped byte of a protected frame is rejected
// (HMAC: except the message type, which the reference's HMAC does not cover);
// replayed and stale messages are rejected with replay protection on.
#include <doctest/doctest.h>
#include <netaio/plugins.hpp>
#include <netaio/wire/message.hpp>

#include "plugins/support.hpp"

#include <cstddef>
#include <functional>
#include <string>

using namespace netaio;
using plugins_test::bytes_of;

namespace {

enum class outcome { accepted, rejected };

/// Decodes a (possibly tampered) frame and runs `receive`; malformed frames,
/// failed checks and decryption errors all count as rejections.
outcome receive_frame(const byte_buffer& frame,
                      const std::function<bool(const message&)>& receive) {
  try {
    const message m = message::decode(frame);
    return receive(m) ? outcome::accepted : outcome::rejected;
  } catch (const wire_error&) {
    return outcome::rejected;
  } catch (const plugin_error&) {
    return outcome::rejected;
  }
}

/// Flips each bit pattern of `masks` at every byte of `frame` and returns
/// the indexes of the variants `receive` accepted.
std::vector<std::size_t> accepted_flips(const byte_buffer& frame,
                                        const std::function<bool(const message&)>& receive) {
  std::vector<std::size_t> accepted;
  for (std::size_t i = 0; i < frame.size(); ++i) {
    for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xff}}) {
      byte_buffer t = frame;
      t[i] ^= mask;
      if (receive_frame(t, receive) == outcome::accepted) accepted.push_back(i);
    }
  }
  return accepted;
}

message sample() {
  return message::prepare(body::prepare(as_bytes("render unto caesar"), as_bytes("tribute")),
                          message_type::publish_uri);
}

}  // namespace

TEST_CASE("HMAC: every flipped byte is rejected, except the uncovered message type") {
  const hmac_auth_plugin auth("secret");
  message m = sample();
  auth.make(m.auth_data(), m.body());
  const byte_buffer frame = m.encode();
  auto receive = [&](const message& x) { return auth.check(x.auth_data(), x.body()); };
  REQUIRE(receive_frame(frame, receive) == outcome::accepted);
  const auto accepted = accepted_flips(frame, receive);
  // The reference's HMAC covers nonce, ts and body, not the header's type:
  // a flip that still names a valid type passes (7 ^ 1 = 6, UNSUBSCRIBE_URI).
  // The AEAD plugin closes this.
  CHECK_FALSE(accepted.empty());
  for (std::size_t i : accepted)
    CHECK(i == 0);
}

TEST_CASE("HMAC over the stream cipher: every flipped byte but the type is rejected") {
  const hmac_auth_plugin auth("secret");
  const sha256_stream_cipher_plugin cipher("key");
  const plugin_layer<message> layer{auth, cipher};
  message sealed = seal_layer(sample(), layer);
  const byte_buffer frame = sealed.encode();
  auto receive = [&](const message& x) {
    auto out = open_layer(x, layer);
    return out && out->body() == sample().body();
  };
  REQUIRE(receive_frame(frame, receive) == outcome::accepted);
  for (std::size_t i : accepted_flips(frame, receive))
    CHECK(i == 0);
}

TEST_CASE("the stream cipher alone is malleable (why it needs the HMAC plugin)") {
  const sha256_stream_cipher_plugin cipher("key", {.encrypt_uri = false});
  message sealed = cipher.encrypt(sample());
  // Flip a chosen plaintext bit by flipping the same ciphertext bit.
  sealed.body().content()[0] ^= static_cast<std::uint8_t>('r' ^ 'R');
  const message opened = cipher.decrypt(message::decode(sealed.encode()));
  CHECK(opened.body().content() == bytes_of("Render unto caesar"));
}

TEST_CASE("AEAD: round trips, with and without the uri encrypted") {
  for (bool encrypt_uri : {true, false}) {
    const aead_cipher_plugin aead("key", {.encrypt_uri = encrypt_uri});
    message m = sample();
    m.auth_data().set("inner", bytes_of("field"));
    message sealed = aead.encrypt(m);
    CHECK(sealed.body().content().size() ==
          m.body().content().size() + aead_cipher_plugin::tag_size + (encrypt_uri ? 2 + 7 : 0));
    CHECK(sealed.body().uri() == (encrypt_uri ? byte_buffer{} : m.body().uri()));
    const message opened = aead.decrypt(message::decode(sealed.encode()));
    CHECK(opened.body() == m.body());
    CHECK(*opened.auth_data().find("inner") == bytes_of("field"));
    CHECK_FALSE(aead_cipher_plugin::is_peer_specific());
  }
  const aead_cipher_plugin aead("key");
  const message empty = message::prepare(body::prepare(byte_view{}), message_type::ok);
  CHECK(aead.decrypt(aead.encrypt(empty)).body() == empty.body());
  CHECK_THROWS_AS(aead_cipher_plugin("other").decrypt(aead.encrypt(empty)), decryption_error);
}

TEST_CASE("AEAD: every flipped byte of the frame is rejected, the type included") {
  for (bool encrypt_uri : {true, false}) {
    const aead_cipher_plugin aead("key", {.encrypt_uri = encrypt_uri});
    message m = sample();
    m.auth_data().set("inner", bytes_of("bound too"));
    message sealed = aead.encrypt(m);
    const byte_buffer frame = sealed.encode();
    auto receive = [&](const message& x) { return aead.decrypt(x).body() == m.body(); };
    REQUIRE(receive_frame(frame, receive) == outcome::accepted);
    CHECK(accepted_flips(frame, receive).empty());
  }
}

TEST_CASE("AEAD: changing the type, the uri, or a bound field is rejected") {
  const aead_cipher_plugin aead("key", {.encrypt_uri = false});
  message m = sample();
  m.auth_data().set("inner", bytes_of("v"));
  const message sealed = aead.encrypt(m);
  auto with = [&](auto change) {
    message t = sealed;
    change(t);
    return t;
  };
  CHECK_THROWS_AS(
      aead.decrypt(with([](message& t) { t.header().set_message_type(message_type::delete_uri); })),
      decryption_error);
  CHECK_THROWS_AS(aead.decrypt(with([](message& t) { t.body().uri() = bytes_of("tributE"); })),
                  decryption_error);
  CHECK_THROWS_AS(aead.decrypt(with([](message& t) { t.auth_data().set("inner", bytes_of("w")); })),
                  decryption_error);
  CHECK_THROWS_AS(aead.decrypt(with([](message& t) { t.auth_data().fields().erase("inner"); })),
                  decryption_error);
  CHECK_THROWS_AS(
      aead.decrypt(with([](message& t) { t.auth_data().fields().erase("aead_bound"); })),
      decryption_error);
  CHECK_THROWS_AS(
      aead.decrypt(with([](message& t) { t.auth_data().set("aead_nonce", byte_buffer(24)); })),
      decryption_error);
  // A field added later (by an outer layer) is not bound and does no harm.
  CHECK(aead.decrypt(with([](message& t) { t.auth_data().set("hmac", bytes_of("x")); })).body() ==
        m.body());
}

TEST_CASE("AEAD inside HMAC: both layers, every flip rejected") {
  const plugin_layer<message> inner{nullptr, aead_cipher_plugin("inner key")};
  const plugin_layer<message> outer{hmac_auth_plugin("outer secret"), nullptr};
  message sealed = seal_layers(sample(), inner, outer);
  const byte_buffer frame = sealed.encode();
  auto receive = [&](const message& x) {
    auto out = open_layers(x, inner, outer);
    return out.message && out.message->body() == sample().body();
  };
  REQUIRE(receive_frame(frame, receive) == outcome::accepted);
  CHECK(accepted_flips(frame, receive).empty());
}

TEST_CASE("HMAC replay protection: reused nonce and stale ts are rejected") {
  std::int64_t now = 1'700'000'000;
  const hmac_auth_plugin sender("secret", {.clock = [&] { return now; }});
  const hmac_auth_plugin receiver(
      "secret", {.clock = [&] { return now; }, .replay = replay_options{30, 1000}});
  REQUIRE(receiver.guard() != nullptr);
  CHECK(hmac_auth_plugin("secret").guard() == nullptr);

  message m = sample();
  sender.make(m.auth_data(), m.body());
  const byte_buffer frame = m.encode();
  auto check_frame = [&](const byte_buffer& f) {
    const message x = message::decode(f);
    return receiver.check(x.auth_data(), x.body());
  };
  CHECK(check_frame(frame));
  CHECK_FALSE(check_frame(frame));  // replayed as is

  // A forged message is refused and does not take memory.
  const auto remembered = receiver.guard()->size();
  message forged = sample();
  hmac_auth_plugin("wrong").make(forged.auth_data(), forged.body());
  CHECK_FALSE(receiver.check(forged.auth_data(), forged.body()));
  CHECK(receiver.guard()->size() == remembered);

  // The same nonce with another ts and body is still a replayed nonce.
  message again = message::prepare(body::prepare(as_bytes("other")), message_type::ok);
  again.auth_data().set("nonce", *m.auth_data().find("nonce"));
  now += 5;
  sender.make(again.auth_data(), again.body());
  CHECK_FALSE(receiver.check(again.auth_data(), again.body()));

  // Too old, and too far ahead.
  message old = sample();
  now -= 5;
  sender.make(old.auth_data(), old.body());
  now += 31;
  CHECK_FALSE(receiver.check(old.auth_data(), old.body()));
  message ahead = sample();
  now += 31;
  sender.make(ahead.auth_data(), ahead.body());
  now -= 31;
  CHECK_FALSE(receiver.check(ahead.auth_data(), ahead.body()));

  // Without replay protection (the reference), the replay passes.
  CHECK(hmac_auth_plugin("secret").check(message::decode(frame).auth_data(),
                                         message::decode(frame).body()));
}

TEST_CASE("HMAC replay protection: memory stays bounded over many distinct nonces") {
  std::int64_t now = 2'000'000'000;
  constexpr std::size_t cap = 128;
  const hmac_auth_plugin sender("secret", {.clock = [&] { return now; }});
  const hmac_auth_plugin receiver(
      "secret", {.clock = [&] { return now; }, .replay = replay_options{3600, cap}});
  std::vector<byte_buffer> frames;
  for (std::size_t i = 0; i < 20 * cap; ++i) {
    if (i % 7 == 0) ++now;
    message m = message::prepare(body::prepare(as_bytes(std::to_string(i))), message_type::ok);
    sender.make(m.auth_data(), m.body());
    REQUIRE(receiver.check(m.auth_data(), m.body()));
    REQUIRE(receiver.guard()->size() <= cap);
    frames.push_back(m.encode());
  }
  CHECK(receiver.guard()->size() <= cap);
  // None of them can be replayed, remembered or not.
  for (const auto& f : frames) {
    const message x = message::decode(f);
    REQUIRE_FALSE(receiver.check(x.auth_data(), x.body()));
  }
}
