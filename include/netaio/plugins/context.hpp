// What a node tells its auth and cipher plugins about the other side.
#pragma once

#include <netaio/plugins/peer.hpp>
#include <netaio/plugins/peer_plugin.hpp>

namespace netaio::inline v0 {

/// The reference's optional (node, peer, peer_plugin) arguments. Every field
/// may be empty; a plugin that needs one that is missing throws plugin_error
/// (cipher) or fails the check (auth).
struct plugin_context {
  /// The peer the message goes to or came from.
  const peer* remote = nullptr;
  /// The node's peer plugin, to parse the peer's data.
  peer_plugin_ref peer_plugin{};
  /// This node's own peer entry (the reference's node.local_peer).
  const peer* local = nullptr;
};

}  // namespace netaio::inline v0
