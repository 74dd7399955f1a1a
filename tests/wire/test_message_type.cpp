// Message types: the defaults, and compile-time validation of custom enums
// (the reference's validate_message_type_class / make_message_type_class tests).
#include <doctest/doctest.h>
#include <netaio/wire/header.hpp>
#include <netaio/wire/message_type.hpp>

#include <cstdint>

#include "support/default_types.hpp"

using namespace netaio;

namespace {

enum class valid_types : std::uint8_t { NETAIO_DEFAULT_TYPES, custom_type = 50 };
enum class boundary_31 : std::uint8_t { NETAIO_DEFAULT_TYPES, good_custom = 31 };
enum class boundary_255 : std::uint8_t { NETAIO_DEFAULT_TYPES, top = 255 };
enum class missing_type : std::uint8_t { request_uri = 0, ok = 10, disconnect = 30 };
enum class redefined_type : std::uint8_t {
  request_uri = 0,
  respond_uri = 99,
  create_uri = 2,
  update_uri = 3,
  delete_uri = 4,
  subscribe_uri = 5,
  unsubscribe_uri = 6,
  publish_uri = 7,
  notify_uri = 8,
  advertise_peer = 9,
  ok = 10,
  confirm_subscribe = 11,
  confirm_unsubscribe = 12,
  peer_discovered = 13,
  error = 20,
  auth_error = 23,
  not_found = 24,
  not_permitted = 25,
  disconnect = 30
};
enum class reserved_15 : std::uint8_t { NETAIO_DEFAULT_TYPES, bad_custom = 15 };
enum class reserved_29 : std::uint8_t { NETAIO_DEFAULT_TYPES, bad_custom = 29 };
enum class too_wide : std::uint16_t { NETAIO_DEFAULT_TYPES, bad_value = 256 };
enum unscoped_types : std::uint8_t { NETAIO_DEFAULT_TYPES, custom_unscoped = 77 };
struct not_an_enum {};

}  // namespace

static_assert(is_message_type_enum_v<message_type>);
static_assert(is_message_type_enum_v<valid_types>);
static_assert(is_message_type_enum_v<boundary_31>);
static_assert(is_message_type_enum_v<boundary_255>);
static_assert(is_message_type_enum_v<unscoped_types>);
static_assert(!is_message_type_enum_v<missing_type>);
static_assert(!is_message_type_enum_v<redefined_type>);
static_assert(!is_message_type_enum_v<reserved_15>);
static_assert(!is_message_type_enum_v<reserved_29>);
static_assert(!is_message_type_enum_v<too_wide>);
static_assert(!is_message_type_enum_v<not_an_enum>);
static_assert(!is_message_type_enum_v<int>);

TEST_CASE("default message types keep the reference's values") {
  CHECK(static_cast<int>(message_type::request_uri) == 0);
  CHECK(static_cast<int>(message_type::peer_discovered) == 13);
  CHECK(static_cast<int>(message_type::error) == 20);
  CHECK(static_cast<int>(message_type::auth_error) == 23);
  CHECK(static_cast<int>(message_type::not_found) == 24);
  CHECK(static_cast<int>(message_type::not_permitted) == 25);
  CHECK(static_cast<int>(message_type::disconnect) == 30);
  CHECK(to_string(message_type::ok) == "OK");
  CHECK(to_string(valid_types::custom_type) == "custom");
  int count = 0;
  for (int v = 0; v < 256; ++v)
    if (is_valid_message_type<message_type>(static_cast<std::uint8_t>(v))) ++count;
  CHECK(count == 19);
}

TEST_CASE("custom message types: only named values decode") {
  CHECK(is_valid_message_type<valid_types>(50));
  CHECK_FALSE(is_valid_message_type<valid_types>(51));
  CHECK_FALSE(is_valid_message_type<valid_types>(14));
  CHECK(is_valid_message_type<valid_types>(0));
  CHECK(is_valid_message_type<boundary_255>(255));
  CHECK(is_valid_message_type<unscoped_types>(77));
}

TEST_CASE("a header with a custom message type round-trips (the reference's injection test)") {
  using custom_header = basic_header<valid_types>;
  const custom_header h(valid_types::custom_type, 0, 0, 0);
  const auto decoded = custom_header::decode(h.encode());
  CHECK(decoded.message_type() == valid_types::custom_type);
  // The default enum does not know 50.
  try {
    (void)header::decode(h.encode());
    FAIL("decoded an unknown type");
  } catch (const wire_error& e) {
    CHECK(e.code() == wire_errc::unknown_message_type);
  }
}
