// Handler keys: the reference's keys_extractor gives (type, uri, peer address),
// (type, uri) and type, most specific first.
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/message_type.hpp>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace netaio::inline v0 {

/// A (host, port) a peer was seen at, as Python's tuple[str, int]. (The
/// plugins layer declares the same alias; the two declarations agree.)
using peer_address = std::pair<std::string, std::uint16_t>;

/// Hash of a peer_address (std::hash has none for pairs).
struct peer_address_hash {
  std::size_t operator()(const peer_address& a) const noexcept {
    return std::hash<std::string>{}(a.first) * 31u + a.second;
  }
};

/// Which of the reference's key tuples a handler key stands for.
enum class key_shape : std::uint8_t {
  type_uri_peer,  ///< (type, uri, address), address possibly None
  type_uri,       ///< (type, uri)
  type_only,      ///< type
};

/// A hashable handler key.
template <message_type_enum MT>
struct basic_handler_key {
  key_shape shape = key_shape::type_only;
  MT type{};
  std::string uri;                   ///< uri bytes (type_uri and type_uri_peer)
  std::optional<peer_address> peer;  ///< type_uri_peer only; nullopt is Python's None

  /// The key `type`.
  static basic_handler_key of(MT t) { return {key_shape::type_only, t, {}, std::nullopt}; }
  /// The key (type, uri).
  static basic_handler_key of(MT t, std::string_view uri) {
    return {key_shape::type_uri, t, std::string(uri), std::nullopt};
  }
  /// The key (type, uri, address).
  static basic_handler_key of(MT t, std::string_view uri, std::optional<peer_address> peer) {
    return {key_shape::type_uri_peer, t, std::string(uri), std::move(peer)};
  }

  friend bool operator==(const basic_handler_key& a, const basic_handler_key& b) {
    if (a.shape != b.shape || a.type != b.type) return false;
    if (a.shape == key_shape::type_only) return true;
    if (a.uri != b.uri) return false;
    return a.shape == key_shape::type_uri || a.peer == b.peer;
  }
};

/// The default protocol's handler key.
using handler_key = basic_handler_key<message_type>;

/// The reference's keys_extractor: most specific first.
template <message_protocol M>
std::array<basic_handler_key<typename M::message_type_t>, 3> keys_extractor(
    const M& msg, const std::optional<peer_address>& peer = std::nullopt) {
  using key = basic_handler_key<typename M::message_type_t>;
  const byte_view u = msg.body().uri();
  const std::string_view uri(reinterpret_cast<const char*>(u.data()), u.size());
  const auto t = msg.header().message_type();
  return {key::of(t, uri, peer), key::of(t, uri), key::of(t)};
}

}  // namespace netaio::inline v0

template <class MT>
struct std::hash<netaio::basic_handler_key<MT>> {
  std::size_t operator()(const netaio::basic_handler_key<MT>& k) const noexcept {
    std::size_t h = (static_cast<std::size_t>(k.shape) << 8) | static_cast<std::uint8_t>(k.type);
    if (k.shape == netaio::key_shape::type_only) return h;
    h = h * 1000003u ^ std::hash<std::string>{}(k.uri);
    if (k.shape == netaio::key_shape::type_uri_peer && k.peer)
      h = h * 1000003u ^ netaio::peer_address_hash{}(*k.peer);
    return h;
  }
};
