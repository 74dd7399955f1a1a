// The reference's symmetric constructions and PyNaCl-compatible boxes,
// checked against the vector file and for their failure modes.
#include <doctest/doctest.h>
#include <netaio/plugins/box.hpp>
#include <netaio/plugins/crypto.hpp>

#include "plugins/support.hpp"

#include <vector>

using namespace netaio;
using plugins_test::bytes_of;
using plugins_test::vectors;
using test::from_hex;
using test::to_hex;

TEST_CASE("derive_key matches the reference vectors") {
  for (const auto& v : vectors().at("derive_key")) {
    std::vector<byte_buffer> parts;
    for (const auto& p : v.at("parts"))
      parts.push_back(from_hex(p.get<std::string>()));
    std::vector<byte_view> views(parts.begin(), parts.end());
    CHECK(to_hex(crypto::derive_key(views)) == v.at("key").get<std::string>());
  }
}

TEST_CASE("keystream matches the reference vectors, including offsets") {
  for (const auto& v : vectors().at("keystream")) {
    const auto key = from_hex(v.at("key").get<std::string>());
    const auto iv = from_hex(v.at("iv").get<std::string>());
    const auto length = v.at("length").get<std::size_t>();
    const auto start = v.at("start").get<std::size_t>();
    CHECK(to_hex(crypto::keystream(key, iv, length, start)) == v.at("stream").get<std::string>());
    // An offset stream is the tail of the stream from zero.
    const auto whole = crypto::keystream(key, iv, start + length);
    CHECK(to_hex(byte_view(whole).subspan(start)) == v.at("stream").get<std::string>());
  }
}

TEST_CASE("symcrypt XORs with the keystream and is its own inverse") {
  const auto key = bytes_of("k");
  const auto iv = from_hex("000102030405060708090a0b0c0d0e0f");
  for (std::size_t n : {0u, 1u, 31u, 32u, 33u, 64u, 1000u}) {
    byte_buffer plain(n);
    for (std::size_t i = 0; i < n; ++i)
      plain[i] = static_cast<std::uint8_t>(i * 7);
    const auto ct = crypto::symcrypt(key, iv, plain);
    const auto ks = crypto::keystream(key, iv, n);
    for (std::size_t i = 0; i < n; ++i)
      REQUIRE(ct[i] == (plain[i] ^ ks[i]));
    CHECK(crypto::symcrypt(key, iv, ct) == plain);
  }
}

TEST_CASE("hmac matches the reference vectors; check_hmac accepts them") {
  for (const auto& v : vectors().at("hmac")) {
    const auto key = from_hex(v.at("key").get<std::string>());
    const auto iv = from_hex(v.at("iv").get<std::string>());
    const auto msg = from_hex(v.at("message").get<std::string>());
    const auto mac = from_hex(v.at("mac").get<std::string>());
    CHECK(to_hex(crypto::hmac(key, iv, byte_view(msg))) == v.at("mac").get<std::string>());
    CHECK(crypto::check_hmac(key, iv, byte_view(msg), mac));
  }
}

TEST_CASE("hmac over pieces equals hmac over their concatenation") {
  const auto key = bytes_of("secret");
  const auto iv = bytes_of("0123456789abcdef");
  const auto a = bytes_of("hello, ");
  const auto b = bytes_of("world");
  CHECK(crypto::hmac(key, iv, {a, b}) ==
        crypto::hmac(key, iv, byte_view(bytes_of("hello, world"))));
}

TEST_CASE("check_hmac rejects a wrong mac, a flipped bit, a wrong length, a wrong iv") {
  const auto key = bytes_of("secret");
  const auto iv = bytes_of("0123456789abcdef");
  const auto msg = bytes_of("the message");
  const auto mac = crypto::hmac(key, iv, byte_view(msg));
  byte_buffer m(mac.begin(), mac.end());
  CHECK(crypto::check_hmac(key, iv, byte_view(msg), m));
  for (std::size_t i = 0; i < m.size(); ++i) {
    auto t = m;
    t[i] ^= 0x01;
    REQUIRE_FALSE(crypto::check_hmac(key, iv, byte_view(msg), t));
  }
  CHECK_FALSE(crypto::check_hmac(key, iv, byte_view(msg), byte_view(m).first(31)));
  CHECK_FALSE(crypto::check_hmac(key, iv, byte_view(msg), byte_buffer{}));
  CHECK_FALSE(crypto::check_hmac(key, bytes_of("fedcba9876543210"), byte_view(msg), m));
  CHECK_FALSE(crypto::check_hmac(bytes_of("secreT"), iv, byte_view(msg), m));
}

TEST_CASE("X25519 keys and boxes match PyNaCl's") {
  for (const auto& v : vectors().at("x25519")) {
    const auto a = crypto::box_keypair::from_seed(from_hex(v.at("seed_a").get<std::string>()));
    const auto b = crypto::box_keypair::from_seed(from_hex(v.at("seed_b").get<std::string>()));
    CHECK(to_hex(a.verify_key()) == v.at("vkey_a").get<std::string>());
    CHECK(to_hex(a.public_key_bytes()) == v.at("pubkey_a").get<std::string>());
    CHECK(to_hex(b.public_key_bytes()) == v.at("pubkey_b").get<std::string>());
    const auto n = from_hex(v.at("nonce").get<std::string>());
    crypto::box_nonce nonce{};
    std::copy(n.begin(), n.end(), nonce.begin());
    const auto plain = from_hex(v.at("plaintext").get<std::string>());
    const auto boxed = crypto::box_seal(a.secret_key(), b.public_key_bytes(), plain, nonce);
    CHECK(to_hex(boxed) == v.at("box").get<std::string>());
    CHECK(crypto::box_open(b.secret_key(), a.public_key_bytes(), boxed) == plain);
  }
}

TEST_CASE("box_open rejects tampering, truncation and the wrong key") {
  const auto a = crypto::box_keypair::from_seed(byte_buffer(32, 1));
  const auto b = crypto::box_keypair::from_seed(byte_buffer(32, 2));
  const auto c = crypto::box_keypair::from_seed(byte_buffer(32, 3));
  const auto boxed = crypto::box_seal(a.secret_key(), b.public_key_bytes(), bytes_of("attack"));
  CHECK(boxed.size() == crypto::box_nonce_size + crypto::box_mac_size + 6);
  for (std::size_t i = 0; i < boxed.size(); ++i) {
    auto t = boxed;
    t[i] ^= 0x80;
    REQUIRE_THROWS_AS(crypto::box_open(b.secret_key(), a.public_key_bytes(), t), decryption_error);
  }
  CHECK_THROWS_AS(crypto::box_open(b.secret_key(), a.public_key_bytes(),
                                   byte_view(boxed).first(crypto::box_nonce_size + 15)),
                  decryption_error);
  CHECK_THROWS_AS(crypto::box_open(c.secret_key(), a.public_key_bytes(), boxed), decryption_error);
  // An empty plaintext still round-trips.
  const auto empty = crypto::box_seal(a.secret_key(), b.public_key_bytes(), byte_buffer{});
  CHECK(crypto::box_open(b.secret_key(), a.public_key_bytes(), empty).empty());
}

TEST_CASE("bad key sizes are typed errors") {
  CHECK_THROWS_AS(crypto::box_keypair::from_seed(byte_buffer(31)), plugin_error);
  const auto a = crypto::box_keypair::from_seed(byte_buffer(32, 1));
  CHECK_THROWS_AS(crypto::box_seal(a.secret_key(), byte_buffer(31), bytes_of("x")), plugin_error);
  CHECK_THROWS_AS(crypto::box_open(a.secret_key(), byte_buffer(33), byte_buffer(64)), plugin_error);
}

TEST_CASE("secret_array wipes a moved-from key") {
  crypto::key32 k = crypto::derive_key({bytes_of("x")});
  crypto::key32 moved = std::move(k);
  bool all_zero = true;
  for (auto x : k)
    all_zero = all_zero && x == 0;  // NOLINT(bugprone-use-after-move)
  CHECK(all_zero);
  CHECK(to_hex(moved) == to_hex(crypto::derive_key({bytes_of("x")})));
}
