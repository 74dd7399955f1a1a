// Header and body: encoding, decoding, limits.
#include <doctest/doctest.h>
#include <netaio/wire/body.hpp>
#include <netaio/wire/crc32.hpp>
#include <netaio/wire/header.hpp>

#include <string>

#include "support/hex.hpp"

using namespace netaio;
using test::from_hex;

namespace {
wire_errc error_of(auto&& fn) {
  try {
    fn();
  } catch (const wire_error& e) {
    return e.code();
  }
  return wire_errc{};
}
}  // namespace

TEST_CASE("header: 9 big-endian bytes") {
  const header h(message_type::ok, 30639, 26588, 577542173);
  CHECK(header::header_length() == 9);
  CHECK(h.encode() == from_hex("0a77af67dc226c981d"));
  const header d = header::decode(from_hex("0a77af67dc226c981d"));
  CHECK(d == h);
  CHECK(d.message_type() == message_type::ok);
  CHECK(d.auth_length() == 30639);
  CHECK(d.body_length() == 26588);
  CHECK(d.checksum() == 577542173u);
  // Extra bytes are ignored, as by the reference.
  CHECK(header::decode(from_hex("0a77af67dc226c981dffff")) == h);
}

TEST_CASE("header: errors") {
  CHECK(error_of([] { (void)header::decode(from_hex("0a77af67dc226c98")); }) ==
        wire_errc::header_too_short);
  CHECK(error_of([] { (void)header::decode(from_hex("0e0000000000000000")); }) ==
        wire_errc::unknown_message_type);
  CHECK(error_of([] { (void)header::decode(from_hex("ff0000000000000000")); }) ==
        wire_errc::unknown_message_type);
  CHECK(error_of([] { header h(message_type::ok, 65536, 0, 0); }) == wire_errc::too_large);
  header h;
  CHECK(error_of([&] { h.set_lengths(0, 70000, 0); }) == wire_errc::too_large);
  CHECK_NOTHROW(h.set_lengths(65535, 65535, 1));
}

TEST_CASE("body: u16 uri length, uri, content") {
  const body b = body::prepare(as_bytes("test"), as_bytes("echo"));
  CHECK(b.encode() == from_hex("00046563686f74657374"));
  CHECK(b.encoded_size() == 10);
  CHECK(crc32(b.encode()) == 2597129574u);
  CHECK(b.uri_length() == 4);
  const body d = body::decode(b.encode());
  CHECK(d == b);
  const body_ref r = body::parse(b.encode());
  CHECK(r.uri.size() == 4);
  CHECK(r.content.size() == 4);
  CHECK(body::prepare({}, {}).encode() == from_hex("0000"));
  CHECK(crc32(from_hex("0000")) == 1104745215u);
  CHECK(b.checksum() == 2597129574u);
  CHECK(body::prepare({}, {}).checksum() == 1104745215u);
}

TEST_CASE("crc32: zlib's values, in one piece or continued") {
  // zlib.crc32(b"123456789") and zlib.crc32(bytes(range(256)) * 3).
  CHECK(crc32(as_bytes("123456789")) == 0xCBF43926u);
  byte_buffer all;
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 256; ++i)
      all.push_back(static_cast<std::uint8_t>(i));
  const std::uint32_t whole = crc32(all);
  CHECK(whole == 0xB0C0DF2Au);
  for (std::size_t cut : {0u, 1u, 7u, 8u, 9u, 300u, 768u}) {
    const byte_view v(all);
    CHECK(crc32(v.subspan(cut), crc32(v.first(cut))) == whole);
  }
}

TEST_CASE("crc32: the same as zlib's at every length around the switch from tables to zlib") {
  // Short inputs use the library's own tables, long ones zlib: both must
  // give zlib's value for every length, seed and alignment.
  byte_buffer data(2 * detail::crc32_table_limit + 17);
  std::uint32_t x = 0x9E3779B9u;
  for (auto& b : data) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  const auto zlib = [](byte_view v, std::uint32_t seed) {
    return static_cast<std::uint32_t>(::crc32(seed, v.data(), static_cast<uInt>(v.size())));
  };
  for (std::size_t at : {0u, 1u, 3u}) {
    for (std::size_t n = 0; n + at <= data.size(); ++n) {
      const byte_view v = byte_view(data).subspan(at, n);
      CHECK(crc32(v) == zlib(v, 0));
      CHECK(crc32(v, 0xDEADBEEFu) == zlib(v, 0xDEADBEEFu));
      CHECK(detail::crc32_sliced(v, 7) == detail::crc32_zlib(v, 7));
    }
  }
}

TEST_CASE("body: the reference's size limit on prepare") {
  // uri + content must stay below 2^16 - 9 - 104 - overhead.
  CHECK(max_body_payload() == 65422);
  const byte_buffer big(65422, 'x');
  CHECK_NOTHROW(body::prepare(big));
  const byte_buffer too_big(65423, 'x');
  CHECK(error_of([&] { (void)body::prepare(too_big); }) == wire_errc::body_too_long);
  CHECK(error_of([&] { (void)body::prepare(byte_view(big).first(65000), as_bytes("u"), 500); }) ==
        wire_errc::body_too_long);
  CHECK_NOTHROW(body::prepare(byte_view(big).first(65000), as_bytes("u"), 421));
  CHECK(max_body_payload(1000000) == 0);
  CHECK(error_of([] { (void)body::prepare(as_bytes("x"), {}, 1000000); }) ==
        wire_errc::body_too_long);
}

TEST_CASE("body: uri past the body") {
  CHECK(error_of([] { (void)body::parse(from_hex("00")); }) == wire_errc::uri_past_body);
  CHECK(error_of([] { (void)body::parse({}); }) == wire_errc::uri_past_body);
  CHECK(error_of([] { (void)body::decode(from_hex("000561")); }) == wire_errc::uri_past_body);
  CHECK_NOTHROW(body::decode(from_hex("000161")));
}
