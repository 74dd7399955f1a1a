// io endpoints to the (host, port) peer addresses of handler keys and peers,
// and back.
#include <netaio/io.hpp>
#include <netaio/node/peer_address.hpp>
#include <netaio/wire.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>

using namespace netaio;

TEST_CASE("an endpoint's peer address is its address text and port, as asyncio's peername") {
  CHECK(to_peer_address(endpoint::parse("127.0.0.1:8888")) == peer_address{"127.0.0.1", 8888});
  CHECK(to_peer_address(endpoint::parse("[::1]:9")) == peer_address{"::1", 9});
  CHECK(to_peer_address(endpoint::parse("[2001:db8:0:0::1]:443")) ==
        peer_address{"2001:db8::1", 443});
  CHECK(to_peer_address(endpoint::parse("[::ffff:10.0.0.1]:1")) ==
        peer_address{"::ffff:10.0.0.1", 1});
  CHECK(to_peer_address(endpoint::parse("[fe80::1%7]:5")) == peer_address{"fe80::1%7", 5});
  CHECK(to_peer_address(endpoint::parse("localhost:0")) == peer_address{"127.0.0.1", 0});
}

TEST_CASE("an IPv4 peer address is the dotted quad inet_ntop writes, for every byte value") {
  CHECK(to_peer_address(endpoint::parse("0.0.0.0:1")) == peer_address{"0.0.0.0", 1});
  CHECK(to_peer_address(endpoint::parse("255.255.255.255:65535")) ==
        peer_address{"255.255.255.255", 65535});
  for (unsigned v = 0; v < 256; ++v) {
    const auto b = static_cast<std::uint8_t>(v);
    const auto c = static_cast<std::uint8_t>(255 - v);
    const ip_address ip = ip_address::v4({b, c, 10, b});
    REQUIRE(to_peer_address(endpoint{ip, 7}) == peer_address{ip.to_string(), 7});
  }
}

TEST_CASE("a peer address goes back to the same endpoint") {
  for (const char* text : {"127.0.0.1:8888", "0.0.0.0:0", "[::1]:65535", "[fe80::1%3]:80",
                           "[::ffff:192.168.1.2]:7", "255.255.255.255:1"}) {
    const endpoint ep = endpoint::parse(text);
    const peer_address a = to_peer_address(ep);
    CHECK(to_endpoint(a) == ep);
    REQUIRE(try_to_endpoint(a).has_value());
    CHECK(*try_to_endpoint(a) == ep);
  }
  CHECK(to_endpoint({"localhost", 80}) == endpoint::parse("127.0.0.1:80"));
  CHECK(to_endpoint({"::1", 80}) == endpoint::parse("[::1]:80"));
}

TEST_CASE("a peer address that names no numeric host is refused, saying why") {
  CHECK_FALSE(try_to_endpoint({"example.com", 80}).has_value());
  CHECK_FALSE(try_to_endpoint({"", 80}).has_value());
  CHECK_FALSE(try_to_endpoint({"[::1]", 80}).has_value());  // brackets belong to endpoint text
  CHECK_FALSE(try_to_endpoint({"1.2.3.4:5", 80}).has_value());
  try {
    (void)to_endpoint({"example.com", 80});
    FAIL("accepted a host name");
  } catch (const io_error& e) {
    CHECK(e.errc() == io_errc::needs_resolution);
    CHECK(std::string(e.what()).find("(example.com, 80)") != std::string::npos);
  }
  try {
    (void)to_endpoint({"1.2.3", 80});
    FAIL("accepted a malformed address");
  } catch (const io_error& e) {
    CHECK(e.errc() == io_errc::invalid_address);
  }
}

TEST_CASE("handler keys made from an endpoint match those made from its peer address") {
  const message m = make_ok_msg(as_bytes("x"), as_bytes("/u"));
  const endpoint ep = endpoint::parse("[::1]:4000");
  const auto keys = keys_extractor(m, to_peer_address(ep));
  CHECK(keys[0] == handler_key::of(message_type::ok, "/u", peer_address{"::1", 4000}));
  CHECK(std::hash<handler_key>{}(keys[0]) ==
        std::hash<handler_key>{}(handler_key::of(message_type::ok, "/u", to_peer_address(ep))));
}
