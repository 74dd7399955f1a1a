#include <netaio/io/address.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace netaio;

TEST_CASE("IPv4 endpoints parse and print as host:port") {
  auto ep = endpoint::parse("127.0.0.1:8888");
  CHECK(ep.address().is_v4());
  CHECK(ep.address().is_loopback());
  CHECK(ep.port() == 8888);
  CHECK(ep.to_string() == "127.0.0.1:8888");
  CHECK(endpoint::parse("0.0.0.0:0").address().is_unspecified());
  CHECK(endpoint::parse("224.0.0.1:9999").address().is_multicast());
  CHECK(endpoint::parse("255.255.255.255:65535").to_string() == "255.255.255.255:65535");
}

TEST_CASE("IPv6 endpoints use brackets") {
  auto ep = endpoint::parse("[::1]:80");
  CHECK(ep.address().is_v6());
  CHECK(ep.address().is_loopback());
  CHECK(ep.to_string() == "[::1]:80");
  CHECK(endpoint::parse("[ff02::1]:5000").address().is_multicast());
  CHECK(endpoint::parse("[2001:db8::1:0]:1").to_string() == "[2001:db8::1:0]:1");
  CHECK(endpoint::parse("[::]:0").address().is_unspecified());
  auto scoped = endpoint::parse("[fe80::1%1]:9");
  CHECK(scoped.address().scope_id() == 1);
  CHECK(scoped.to_string() == "[fe80::1%1]:9");
#if defined(_WIN32)
  // Windows writes zones as interface numbers; names are not looked up.
  MESSAGE("a zone by interface name (\"%lo\") is Linux-only: on Windows only numbers are taken");
  CHECK(!ip_address::try_parse("fe80::1%lo"));
#else
  CHECK(endpoint::parse("[fe80::1%lo]:9").address().scope_id() == 1);
#endif
}

TEST_CASE("localhost is the IPv4 loopback") {
  auto ep = endpoint::parse("localhost:1234");
  CHECK(ep.address() == ip_address::loopback());
  CHECK(ep.to_string() == "127.0.0.1:1234");
}

TEST_CASE("round trip through text") {
  for (const char* s : {"10.1.2.3:4", "[::ffff:1.2.3.4]:5", "[fd00::2]:65535", "1.1.1.1:0"}) {
    CAPTURE(s);
    CHECK(endpoint::parse(endpoint::parse(s).to_string()) == endpoint::parse(s));
  }
}

TEST_CASE("malformed endpoints are invalid_address errors") {
  for (const char* s :
       {"", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:8a",
        "::1:80", "[::1]", "[::1]80", "[127.0.0.1]:80", "1.2.3:80", "256.0.0.1:80", "1.2.3.4.5:80",
        "[fe80::1%nosuchif]:1", "[::1%]:1", "a b:80"}) {
    CAPTURE(s);
    CHECK_FALSE(endpoint::try_parse(s).has_value());
    try {
      (void)endpoint::parse(s);
      FAIL("parsed");
    } catch (const io_error& e) {
      CHECK(e.errc() == io_errc::invalid_address);
      CHECK(std::string(e.what()).find(s) != std::string::npos);
    }
  }
}

TEST_CASE("host names that need DNS are rejected with a clear error") {
  try {
    (void)endpoint::parse("example.com:80");
    FAIL("parsed");
  } catch (const io_error& e) {
    CHECK(e.errc() == io_errc::needs_resolution);
    CHECK((e.code() == io_errc::needs_resolution));
    CHECK(std::string(e.what()).find("DNS") != std::string::npos);
  }
  CHECK_FALSE(ip_address::try_parse("my-host").has_value());
}

TEST_CASE("addresses compare and order") {
  CHECK(ip_address::parse("1.2.3.4") == ip_address::v4({1, 2, 3, 4}));
  CHECK(ip_address::parse("::1") == ip_address::loopback(ip_family::v6));
  CHECK(ip_address::parse("1.2.3.4") != ip_address::parse("1.2.3.5"));
  CHECK(endpoint::parse("1.2.3.4:1") < endpoint::parse("1.2.3.4:2"));
  CHECK(ip_address::any(ip_family::v6).to_string() == "::");
  CHECK(ip_address{}.to_string() == "0.0.0.0");
}
