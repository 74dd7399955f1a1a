// Auth fields: a packify dict of str to bytes.
#include <doctest/doctest.h>
#include <netaio/wire/auth_fields.hpp>
#include <netaio/wire/packify.hpp>

#include <string>

#include "support/hex.hpp"

using namespace netaio;
using packify::value;
using test::from_hex;

namespace {
wire_errc decode_error(const byte_buffer& b) {
  try {
    (void)auth_fields::decode(b);
  } catch (const wire_error& e) {
    CHECK_THROWS_AS(auth_fields::validate(b), wire_error);
    return e.code();
  }
  return wire_errc{};
}
}  // namespace

TEST_CASE("auth fields encode as the reference (sorted packed pairs)") {
  const auth_fields a{
      {"ts", from_hex("73dea5ea")},
      {"nonce", from_hex("01dcb5602c4410f06a07a2cde001f773")},
      {"hmac", from_hex("c5a98568d58993b899a68e05dffc2ad25e2ac63494ae3f1c8f58861e45e2a535")}};
  const byte_buffer expected = from_hex(
      "4d40030f2d1e4c4002040643027473410473dea5ea4c400206224304686d61634120c5a98568d58993b899a68e"
      "05dffc2ad25e2ac63494ae3f1c8f58861e45e2a5354c4002071243056e6f6e6365411001dcb5602c4410f06a07"
      "a2cde001f773");
  CHECK(a.encode() == expected);
  CHECK(auth_fields::decode(expected) == a);
  CHECK_NOTHROW(auth_fields::validate(expected));
  const auto ts = auth_fields::find_in(expected, "ts");
  REQUIRE(ts.has_value());
  CHECK(to_buffer(*ts) == from_hex("73dea5ea"));
  CHECK_FALSE(auth_fields::find_in(expected, "nope").has_value());
  REQUIRE(a.find("nonce") != nullptr);
  CHECK(a.find("x") == nullptr);
}

TEST_CASE("empty auth fields are an empty dict") {
  const auth_fields a;
  CHECK(a.encode() == from_hex("4d4000"));
  CHECK(auth_fields::decode(from_hex("4d4000")).empty());
}

TEST_CASE("auth fields: only a dict of str to bytes decodes") {
  // The reference cannot decode an empty auth section either.
  CHECK(decode_error({}) == wire_errc::bad_auth_fields);
  CHECK(decode_error(from_hex("ff")) == wire_errc::bad_auth_fields);
  CHECK(decode_error(packify::pack(value::list())) == wire_errc::bad_auth_fields);
  CHECK(decode_error(packify::pack(value::dict({{value("k"), value(1)}}))) ==
        wire_errc::bad_auth_fields);
  CHECK(decode_error(packify::pack(value::dict({{value(1), value::bytes(from_hex("00"))}}))) ==
        wire_errc::bad_auth_fields);
  CHECK(decode_error(from_hex("4d40ff")) == wire_errc::bad_auth_fields);
  CHECK(decode_error(from_hex("4d400105")) == wire_errc::bad_auth_fields);
  CHECK(decode_error(from_hex("4d4001034c4001")) == wire_errc::bad_auth_fields);
  // Non-UTF-8 key.
  byte_buffer bad = packify::pack(value::dict({{value("k"), value::bytes(from_hex("00"))}}));
  for (auto& c : bad)
    if (c == 'k') c = 0xff;
  CHECK(decode_error(bad) == wire_errc::bad_auth_fields);
  // bytearray values are accepted as bytes.
  const auto a = auth_fields::decode(
      packify::pack(value::dict({{value("k"), value::bytearray(from_hex("01"))}})));
  CHECK(*a.find("k") == from_hex("01"));
}

TEST_CASE("auth fields agree with the generic packify decoder") {
  auth_fields a;
  a.set("a", from_hex("0102"));
  a.set("bb", byte_buffer(300, 7));
  const value v = packify::unpack(a.encode());
  REQUIRE(v.type() == packify::kind::dict);
  CHECK(v.find("bb")->as_bytes().size() == 300);
  CHECK(packify::pack(a.to_value()) == a.encode());
}

TEST_CASE("auth fields' direct encoder matches generic packify for every length category") {
  for (std::size_t n : {0u, 1u, 200u, 255u, 256u, 65535u, 65536u, 70000u}) {
    auth_fields a;
    a.set("k", byte_buffer(n, 1));
    a.set(std::string(n % 300, 'x'), byte_buffer(n / 2, 2));
    a.set("zz", {});
    CHECK(a.encode() == packify::pack(a.to_value()));
    CHECK(auth_fields::decode(a.encode()) == a);
  }
}

TEST_CASE("auth fields: many fields, appended after other bytes, and encoded_size") {
  // More fields than the encoder keeps on its stack, in an order packify
  // sorts differently, and items past the 256 bytes it reorders on its stack.
  for (std::size_t count : {0u, 1u, 3u, 8u, 9u, 20u}) {
    auth_fields a;
    for (std::size_t i = 0; i < count; ++i)
      a.set(std::string(1 + (i * 7) % 13, static_cast<char>('a' + i)),
            byte_buffer((i * 37) % 400, static_cast<std::uint8_t>(i)));
    const byte_buffer expected = packify::pack(a.to_value());
    CHECK(a.encoded_size() == expected.size());
    byte_buffer out = {1, 2, 3};
    a.encode_to(out);
    REQUIRE(out.size() == 3 + expected.size());
    CHECK(byte_buffer(out.begin(), out.begin() + 3) == byte_buffer{1, 2, 3});
    CHECK(byte_buffer(out.begin() + 3, out.end()) == expected);
  }
}
