// What a node knows of a peer (the reference's Peer).
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/keys.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace netaio::inline v0 {

// peer_address (a (host, port) pair) comes from wire/keys.hpp.

/// A peer: its addresses, its id and its opaque data (encoded by the peer
/// plugin), and when it was last heard from (seconds on the node's clock).
struct peer {
  std::set<peer_address> addrs;
  std::optional<byte_buffer> id;
  std::optional<byte_buffer> data;
  std::int64_t last_rx = 0;

  /// Records that the peer was heard from at `now`, replacing its data if given.
  void update(std::int64_t now, std::optional<byte_buffer> new_data = std::nullopt) {
    if (new_data) data = std::move(new_data);
    last_rx = now;
  }
  /// True once more than `timeout` seconds have passed since last_rx.
  bool timed_out(std::int64_t now, std::int64_t timeout = 60) const noexcept {
    return now - last_rx > timeout;
  }

  friend bool operator==(const peer&, const peer&) = default;
};

}  // namespace netaio::inline v0
