// The default peer plugin and the peer_plugin_ref handle.
#include <doctest/doctest.h>
#include <netaio/plugins/peer_plugin.hpp>

#include "plugins/support.hpp"

using namespace netaio;
using plugins_test::bytes_of;
using plugins_test::vectors;
using test::from_hex;
using test::to_hex;

TEST_CASE("default peer plugin: the reference's round trip") {
  default_peer_plugin pp;
  const auto data = pp.encode_data(packify::value::dict({{"foo", "bar"}}));
  peer p{.addrs = {}, .id = bytes_of("test"), .data = data};
  const auto packed = pp.pack(p);
  const peer unpacked = pp.unpack(packed);
  CHECK(unpacked == p);
  CHECK(unpacked.data == data);
  const auto parsed = pp.parse_data(p);
  REQUIRE(parsed.is(packify::kind::dict));
  REQUIRE(parsed.find(std::string_view("foo")) != nullptr);
  CHECK(parsed.find(std::string_view("foo"))->as_string() == "bar");
}

TEST_CASE("default peer plugin matches the reference's packed peers") {
  default_peer_plugin pp;
  for (const auto& v : vectors().at("peer_plugin")) {
    peer p;
    p.id = from_hex(v.at("id").get<std::string>());
    p.data = from_hex(v.at("data").get<std::string>());
    CHECK(to_hex(pp.pack(p)) == v.at("packed").get<std::string>());
    const peer back = pp.unpack(from_hex(v.at("packed").get<std::string>()));
    CHECK(back.id == p.id);
    CHECK(back.data == p.data);
    CHECK(back.addrs.empty());
    const auto parsed = pp.parse_data(p);
    REQUIRE(parsed.find(std::string_view("pubkey")) != nullptr);
    CHECK(parsed.find(std::string_view("pubkey"))->as_bytes().size() == 32);
    CHECK(pp.encode_data(parsed) == *p.data);
  }
}

TEST_CASE("default peer plugin: validate needs an id") {
  default_peer_plugin pp;
  peer p;
  CHECK_FALSE(pp.validate(p));
  p.id = byte_buffer{};
  CHECK(pp.validate(p));
}

TEST_CASE("default peer plugin: a peer without id or data packs as None") {
  default_peer_plugin pp;
  peer p;
  const peer back = pp.unpack(pp.pack(p));
  CHECK_FALSE(back.id.has_value());
  CHECK_FALSE(back.data.has_value());
}

TEST_CASE("default peer plugin: bad input is a typed error") {
  default_peer_plugin pp;
  peer p;
  CHECK_THROWS_AS(pp.parse_data(p), plugin_error);
  p.data = byte_buffer{0xff};
  CHECK_THROWS_AS(pp.parse_data(p), wire_error);
  CHECK_THROWS_AS(pp.unpack(packify::pack(packify::value(7))), plugin_error);
  CHECK_THROWS_AS(pp.unpack(packify::pack(packify::value::tuple({nullptr}))), plugin_error);
  CHECK_THROWS_AS(pp.unpack(packify::pack(packify::value::tuple({1, nullptr}))), plugin_error);
  CHECK_THROWS_AS(pp.unpack(byte_buffer{}), wire_error);
}

TEST_CASE("peer_plugin_ref forwards to the plugin and reports a missing one") {
  default_peer_plugin pp;
  peer_plugin_ref ref = pp;
  REQUIRE(static_cast<bool>(ref));
  peer p{.addrs = {{"127.0.0.1", 8888}}, .id = bytes_of("x"), .data = std::nullopt};
  CHECK(ref.validate(p));
  CHECK(ref.pack(p) == pp.pack(p));
  CHECK(ref.unpack(ref.pack(p)).id == p.id);
  peer_plugin_ref none;
  CHECK_FALSE(static_cast<bool>(none));
  CHECK_FALSE(none.validate(p));
  CHECK_THROWS_AS(none.parse_data(p), plugin_error);
}

TEST_CASE("peer: update and timed_out use the caller's clock") {
  peer p;
  p.update(100, bytes_of("d"));
  CHECK(p.last_rx == 100);
  CHECK(p.data == bytes_of("d"));
  p.update(110);
  CHECK(p.data == bytes_of("d"));
  CHECK_FALSE(p.timed_out(170, 60));
  CHECK(p.timed_out(171, 60));
}
