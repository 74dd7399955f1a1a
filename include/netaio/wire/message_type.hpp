// Message types: the reference's defaults, and the compile-time check that a
// custom enum keeps them (same names, same values) and uses only 31..255 for its own.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

namespace netaio::inline v0 {

/// The reference's MessageType values. Values 0..30 are reserved for these.
enum class message_type : std::uint8_t {
  request_uri = 0,
  respond_uri = 1,
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
  disconnect = 30,
};

/// The reference's name of a default message type ("" for others).
constexpr std::string_view default_message_type_name(std::uint8_t v) noexcept {
  switch (v) {
    case 0:
      return "REQUEST_URI";
    case 1:
      return "RESPOND_URI";
    case 2:
      return "CREATE_URI";
    case 3:
      return "UPDATE_URI";
    case 4:
      return "DELETE_URI";
    case 5:
      return "SUBSCRIBE_URI";
    case 6:
      return "UNSUBSCRIBE_URI";
    case 7:
      return "PUBLISH_URI";
    case 8:
      return "NOTIFY_URI";
    case 9:
      return "ADVERTISE_PEER";
    case 10:
      return "OK";
    case 11:
      return "CONFIRM_SUBSCRIBE";
    case 12:
      return "CONFIRM_UNSUBSCRIBE";
    case 13:
      return "PEER_DISCOVERED";
    case 20:
      return "ERROR";
    case 23:
      return "AUTH_ERROR";
    case 24:
      return "NOT_FOUND";
    case 25:
      return "NOT_PERMITTED";
    case 30:
      return "DISCONNECT";
    default:
      return "";
  }
}

/// Values at or below this are reserved for the default message types.
inline constexpr std::uint8_t max_reserved_message_type = 30;

namespace detail {

/// True when V is a named enumerator of its enum. Reads the compiler's
/// rendering of the template argument: a name ends the text after its last
/// "::" or ")" with an identifier, an unnamed value (a cast) with a digit.
template <auto V>
constexpr bool enumerator_named() noexcept {
  constexpr std::string_view s = __PRETTY_FUNCTION__;
  constexpr std::size_t start = s.rfind("V = ");
  if constexpr (start == std::string_view::npos) {
    return false;
  } else {
    constexpr std::string_view tail = s.substr(start + 4);
    constexpr std::string_view text = tail.substr(0, tail.find_first_of(";]"));
    constexpr std::size_t cut = text.find_last_of(":)");
    constexpr char c = cut == std::string_view::npos ? text[0] : text[cut + 1];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }
}

template <class E, std::size_t... I>
constexpr std::array<bool, sizeof...(I)> named_table(std::index_sequence<I...>) noexcept {
  return {enumerator_named<static_cast<E>(I)>()...};
}

/// named_values<E>[v]: whether value v has a name in E (for enums on uint8_t).
template <class E>
inline constexpr std::array<bool, 256> named_values =
    named_table<E>(std::make_index_sequence<256>{});

template <class E>
concept has_default_message_types = std::is_enum_v<E> && requires {
  E::request_uri;
  E::respond_uri;
  E::create_uri;
  E::update_uri;
  E::delete_uri;
  E::subscribe_uri;
  E::unsubscribe_uri;
  E::publish_uri;
  E::notify_uri;
  E::advertise_peer;
  E::ok;
  E::confirm_subscribe;
  E::confirm_unsubscribe;
  E::peer_discovered;
  E::error;
  E::auth_error;
  E::not_found;
  E::not_permitted;
  E::disconnect;
};

template <class E>
constexpr std::uint8_t u8(E e) noexcept {
  return static_cast<std::uint8_t>(e);
}

template <class E>
constexpr bool default_values_kept() noexcept {
  return u8(E::request_uri) == 0 && u8(E::respond_uri) == 1 && u8(E::create_uri) == 2 &&
         u8(E::update_uri) == 3 && u8(E::delete_uri) == 4 && u8(E::subscribe_uri) == 5 &&
         u8(E::unsubscribe_uri) == 6 && u8(E::publish_uri) == 7 && u8(E::notify_uri) == 8 &&
         u8(E::advertise_peer) == 9 && u8(E::ok) == 10 && u8(E::confirm_subscribe) == 11 &&
         u8(E::confirm_unsubscribe) == 12 && u8(E::peer_discovered) == 13 && u8(E::error) == 20 &&
         u8(E::auth_error) == 23 && u8(E::not_found) == 24 && u8(E::not_permitted) == 25 &&
         u8(E::disconnect) == 30;
}

/// No custom enumerator in the reserved range 0..30.
template <class E>
constexpr bool reserved_range_clean() noexcept {
  for (std::size_t v = 0; v <= max_reserved_message_type; ++v)
    if (named_values<E>[v] && default_message_type_name(static_cast<std::uint8_t>(v)).empty())
      return false;
  return true;
}

}  // namespace detail

/// A message-type enum: every default type with its value, any custom ones in
/// 31..255 (an enum on std::uint8_t, so none can pass 255).
template <class E>
concept message_type_enum = detail::has_default_message_types<E> &&
    std::same_as<std::underlying_type_t<E>, std::uint8_t> &&
    detail::default_values_kept<E>() && detail::reserved_range_clean<E>();

/// message_type_enum as a bool trait.
template <class E>
inline constexpr bool is_message_type_enum_v = message_type_enum<E>;

/// Whether the byte `v` names a type of E (what decoding a header accepts).
template <message_type_enum E>
constexpr bool is_valid_message_type(std::uint8_t v) noexcept {
  return detail::named_values<E>[v];
}

/// The reference's name of a default type, else "custom".
template <message_type_enum E>
constexpr std::string_view to_string(E t) noexcept {
  const auto n = default_message_type_name(static_cast<std::uint8_t>(t));
  return n.empty() ? std::string_view("custom") : n;
}

static_assert(message_type_enum<message_type>);

}  // namespace netaio::inline v0
