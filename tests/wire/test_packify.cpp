// packify: every type, ordering of sets and dicts, and every decode error.
#include <doctest/doctest.h>
#include <netaio/wire/packify.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "support/hex.hpp"

using namespace netaio;
using packify::big_int;
using packify::kind;
using packify::value;
using test::from_hex;

namespace {

void check_round_trip(const value& v, std::string_view expected_hex) {
  const byte_buffer packed = packify::pack(v);
  CHECK(packed == from_hex(expected_hex));
  CHECK(packify::unpack(packed) == v);
  CHECK(packify::validate(packed).type == v.type());
}

wire_errc decode_error(const byte_buffer& b) {
  try {
    (void)packify::unpack(b);
  } catch (const wire_error& e) {
    // validate() must agree with unpack() on every rejection.
    try {
      (void)packify::validate(b);
      FAIL("validate accepted what unpack rejected");
    } catch (const wire_error& e2) {
      CHECK(e2.code() == e.code());
    }
    return e.code();
  }
  return wire_errc{};
}

/// A dict container holding one raw item (which need not be a valid pair).
byte_buffer dict_of(const value& item) {
  const byte_buffer packed = packify::pack(item);
  byte_buffer d = {0x4d, 0x40, 0x01, static_cast<std::uint8_t>(packed.size())};
  d.insert(d.end(), packed.begin(), packed.end());
  return d;
}

}  // namespace

TEST_CASE("packify scalars") {
  check_round_trip(value(), "00");
  check_round_trip(value(true), "0601");
  check_round_trip(value(false), "0600");
  check_round_trip(value(0.5), "073fe0000000000000");
  check_round_trip(value(std::string("ts")), "43027473");
  check_round_trip(value(""), "4300");
  check_round_trip(value::bytes(from_hex("00")), "410100");
  check_round_trip(value::bytearray(from_hex("0102")), "42020102");
}

TEST_CASE("packify ints pick the smallest length category") {
  check_round_trip(value(0), "4400");
  check_round_trip(value(255), "44ff");
  check_round_trip(value(256), "840100");
  check_round_trip(value(65536), "c400010000");
  check_round_trip(value(std::uint64_t{4294967295u}), "c4ffffffff");
  check_round_trip(value(std::int64_t{4294967296}), "04050100000000");
  check_round_trip(value(std::numeric_limits<std::uint64_t>::max()), "0408ffffffffffffffff");
  check_round_trip(value(-1), "4501");
  check_round_trip(value(-256), "850100");
  check_round_trip(value(std::numeric_limits<std::int64_t>::min()), "05088000000000000000");
  CHECK(value(std::numeric_limits<std::int64_t>::min()).as_int() ==
        std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("packify big ints: decimal text, 255-byte limit") {
  const std::string big = "123456789012345678901234567890123456789";
  const big_int b = big_int::from_decimal(big);
  CHECK(b.to_decimal() == big);
  CHECK(big_int::from_decimal("-" + big).to_decimal() == "-" + big);
  CHECK(big_int::from_decimal("-0").to_decimal() == "0");
  CHECK_THROWS_AS(big_int::from_decimal("12a"), wire_error);
  CHECK_THROWS_AS(big_int::from_decimal(""), wire_error);
  const value v(b);
  CHECK(packify::unpack(packify::pack(v)) == v);
  CHECK_THROWS_AS(value(b).as_int(), wire_error);

  big_int huge;
  huge.magnitude.assign(256, 0xff);
  CHECK_THROWS_AS(packify::pack(value(huge)), wire_error);
  huge.magnitude.assign(255, 0xff);
  CHECK(packify::pack(value(huge)).size() == 257);
  // Leading zeros in a user-built magnitude do not change the encoding.
  big_int padded;
  padded.magnitude = {0, 0, 1};
  CHECK(packify::pack(value(padded)) == from_hex("4401"));
  // Negative zero decodes as zero.
  CHECK(packify::unpack(from_hex("4500")) == value(0));
}

TEST_CASE("packify floats keep their bits") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const value v = packify::unpack(packify::pack(value(nan)));
  CHECK(std::isnan(v.as_double()));
  CHECK(v == value(nan));
  check_round_trip(value(-1234.25), "07c093490000000000");
}

TEST_CASE("packify containers") {
  check_round_trip(value::tuple(), "4c4000");
  check_round_trip(value::list(), "4a4000");
  check_round_trip(value::set(), "4b4000");
  check_round_trip(value::dict(), "4d4000");
  check_round_trip(value::list({value(1), value("a"), value::bytes(from_hex("62")), value()}),
                   "4a400402030301440143016141016200");
}

TEST_CASE("packify sorts sets and dicts by packed bytes") {
  const value s = value::set(
      {value::bytes(from_hex("7a7a")), value::bytes(from_hex("79")), value::bytes(from_hex("78"))});
  CHECK(packify::pack(s) == from_hex("4b400303030441017841017941027a7a"));
  // Duplicates vanish as in a Python set.
  const value dup = value::set({value(1), value(1)});
  CHECK(packify::pack(dup) == packify::pack(value::set({value(1)})));

  const value d =
      value::dict({{value("ts"), value::bytes(from_hex("73dea5ea"))},
                   {value("nonce"), value::bytes(from_hex("01dcb5602c4410f06a07a2cde001f773"))}});
  const value d2 =
      value::dict({{value("nonce"), value::bytes(from_hex("01dcb5602c4410f06a07a2cde001f773"))},
                   {value("ts"), value::bytes(from_hex("73dea5ea"))}});
  CHECK(packify::pack(d) == packify::pack(d2));
  // A repeated key: the last assignment wins.
  const value rep = value::dict({{value("k"), value(1)}, {value("k"), value(2)}});
  CHECK(packify::pack(rep) == packify::pack(value::dict({{value("k"), value(2)}})));
  const value decoded = packify::unpack(packify::pack(d));
  REQUIRE(decoded.find("ts") != nullptr);
  CHECK(decoded.find("ts")->as_bytes() == from_hex("73dea5ea"));
  CHECK(decoded.find("missing") == nullptr);
}

TEST_CASE("packify decoding drops duplicates as Python does") {
  // set {1, 1} written by hand (two equal items).
  const value s = packify::unpack(from_hex("4b4002020244014401"));
  CHECK(s.items().size() == 1);
  // dict with key "k" twice: the last wins.
  const byte_buffer a = packify::pack(value::tuple({value("k"), value(1)}));
  const byte_buffer b = packify::pack(value::tuple({value("k"), value(2)}));
  byte_buffer d = {0x4d, 0x40, 0x02, static_cast<std::uint8_t>(a.size()),
                   static_cast<std::uint8_t>(b.size())};
  d.insert(d.end(), a.begin(), a.end());
  d.insert(d.end(), b.begin(), b.end());
  const value v = packify::unpack(d);
  REQUIRE(v.pairs().size() == 1);
  CHECK(v.find("k")->as_int() == 2);
}

TEST_CASE("packify accessors reject the wrong kind") {
  const value v(1);
  CHECK(v.type() == kind::integer);
  CHECK_THROWS_AS(v.as_string(), wire_error);
  CHECK_THROWS_AS(v.items(), wire_error);
  CHECK_THROWS_AS(v.pairs(), wire_error);
  try {
    (void)v.as_bytes();
  } catch (const wire_error& e) {
    CHECK(e.code() == wire_errc::wrong_kind);
  }
  CHECK(packify::to_string(kind::dict) == "dict");
}

TEST_CASE("packify decoding rejects malformed input with a typed error") {
  CHECK(decode_error({}) == wire_errc::truncated);
  CHECK(decode_error(from_hex("06")) == wire_errc::truncated);
  CHECK(decode_error(from_hex("060100")) == wire_errc::trailing_bytes);
  CHECK(decode_error(from_hex("07000000")) == wire_errc::truncated);
  CHECK(decode_error(from_hex("84ff")) == wire_errc::truncated);
  CHECK(decode_error(from_hex("0405010000")) == wire_errc::truncated);
  CHECK(decode_error(from_hex("4105")) == wire_errc::truncated);
  CHECK(decode_error(from_hex("0100")) == wire_errc::bad_length_category);
  CHECK(decode_error(from_hex("4302c328")) == wire_errc::invalid_utf8);
  CHECK(decode_error(from_hex("4303eda080")) == wire_errc::invalid_utf8);  // a surrogate
  CHECK(decode_error(from_hex("4302c080")) == wire_errc::invalid_utf8);    // overlong
  CHECK(decode_error(from_hex("4801")) == wire_errc::truncated);
  CHECK(decode_error(from_hex("480131")) == wire_errc::unsupported_type);      // Decimal('1')
  CHECK(decode_error(from_hex("5401010000")) == wire_errc::unsupported_type);  // Packable
  CHECK(decode_error(from_hex("09")) == wire_errc::unknown_type);
  CHECK(decode_error(from_hex("3f")) == wire_errc::unknown_type);
  CHECK(decode_error(from_hex("0a4000")) == wire_errc::bad_length_category);
  CHECK(decode_error(from_hex("4a0000")) == wire_errc::bad_length_category);
  CHECK(decode_error(from_hex("4a4100")) == wire_errc::bad_length_category);
  CHECK(decode_error(from_hex("4a40ff")) == wire_errc::truncated);
  CHECK(decode_error(from_hex("4a400105")) == wire_errc::truncated);
  CHECK(decode_error(from_hex("4a400100")) == wire_errc::truncated);  // an empty item
  CHECK(decode_error(from_hex("ca40ffffffff01")) == wire_errc::truncated);
  // set of a list; dict keyed by a list; dict item that is not a pair.
  CHECK(decode_error(from_hex("4b4001034a4000")) == wire_errc::unhashable);
  CHECK(decode_error(from_hex("4b4001034240")) == wire_errc::truncated);
  CHECK(decode_error(dict_of(value::tuple({value::list(), value(1)}))) == wire_errc::unhashable);
  CHECK(decode_error(dict_of(value(1))) == wire_errc::bad_dict_item);
  CHECK(decode_error(dict_of(value::tuple({value(1)}))) == wire_errc::bad_dict_item);
  CHECK(decode_error(dict_of(value::tuple({value(1), value(2), value(3)}))) ==
        wire_errc::bad_dict_item);
  // A tuple key is hashable unless it holds something unhashable.
  CHECK_NOTHROW(packify::unpack(dict_of(value::tuple({value::tuple({value(1)}), value(1)}))));
  CHECK(decode_error(dict_of(value::tuple({value::tuple({value::list()}), value(1)}))) ==
        wire_errc::unhashable);
  CHECK(decode_error(dict_of(value::tuple({value::bytearray({}), value(1)}))) ==
        wire_errc::unhashable);
}

TEST_CASE("packify decoding bounds nesting depth") {
  byte_buffer nested = from_hex("4a4000");
  for (int i = 0; i < 100; ++i) {
    byte_buffer outer = {0x4a, 0x40, 0x01, static_cast<std::uint8_t>(nested.size())};
    if (nested.size() > 255) break;
    outer.insert(outer.end(), nested.begin(), nested.end());
    nested = std::move(outer);
  }
  CHECK_NOTHROW(packify::unpack(nested, {.max_depth = 1000}));
  try {
    (void)packify::unpack(nested, {.max_depth = 8});
    FAIL("depth not bounded");
  } catch (const wire_error& e) {
    CHECK(e.code() == wire_errc::too_deep);
  }
}

TEST_CASE("packify ignores bytes after a value, as the reference does") {
  CHECK(packify::unpack(from_hex("4401ffff")) == value(1));
  CHECK(packify::unpack(from_hex("00ff")) == value());
}
