// The reference's symmetric constructions and PyNaCl-compatible boxes,
// checked against the vector file and for their failure modes.
#include <doctest/doctest.h>
#include <netaio/plugins/box.hpp>
#include <netaio/plugins/crypto.hpp>
#include <netaio/plugins/detail/random.hpp>

#include "plugins/support.hpp"

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#endif

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
    // The precomputed form the HMAC plugin uses gives the same MAC.
    CHECK(to_hex(crypto::hmac_key(key).mac(iv, {byte_view(msg)})) ==
          v.at("mac").get<std::string>());
  }
}

TEST_CASE("key_deriver derives what derive_key does; symcrypt_derived is symcrypt") {
  const auto key = bytes_of("a key");
  const crypto::key_deriver enc(key, crypto::enc_label);
  for (const char* iv_text :
       {"", "0123456789abcdef", "an iv longer than sixty-four bytes ......................"}) {
    const auto iv = bytes_of(iv_text);
    CHECK(to_hex(enc.derive(iv)) == to_hex(crypto::derive_key({byte_view(key), byte_view(iv),
                                                               byte_view(crypto::enc_label)})));
    byte_buffer data = bytes_of("some plaintext of more than one 32-byte block, to be sure");
    crypto::symcrypt_derived(enc.derive(iv), data);
    CHECK(data ==
          crypto::symcrypt(key, iv,
                           bytes_of("some plaintext of more than one 32-byte block, to be sure")));
  }
}

TEST_CASE("random bytes: fresh each time, uniform in range, and new after fork") {
  std::set<byte_buffer> seen;
  for (int i = 0; i < 2000; ++i) {
    byte_buffer n(16);
    detail::random_bytes(n);
    REQUIRE(seen.insert(n).second);
  }
  // Spans across the stream's 256-byte blocks.
  byte_buffer big(1000);
  detail::random_bytes(big);
  CHECK(std::count(big.begin(), big.end(), std::uint8_t{0}) < 20);
  auto& s = detail::random_stream::local();
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(s.uniform(1) == 0);
    REQUIRE(s.uniform(7) < 7);
  }
  // Threads have their own streams.
  byte_buffer other(16);
  std::thread([&] { detail::random_bytes(other); }).join();
  CHECK_FALSE(seen.contains(other));
#if !defined(_WIN32)
  // A forked child must not repeat what its parent draws next.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    byte_buffer c(16);
    detail::random_bytes(c);
    const bool ok = ::write(fds[1], c.data(), c.size()) == 16;
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  byte_buffer parent(16);
  detail::random_bytes(parent);
  byte_buffer child(16);
  REQUIRE(::read(fds[0], child.data(), child.size()) == 16);
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(child != parent);
#endif
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
