// What a node tells its auth and cipher plugins about the other side.
#pragma once

#include <netaio/plugins/peer.hpp>
#include <netaio/plugins/peer_plugin.hpp>

#include <memory>

namespace netaio::inline v0 {

/// The reference's optional (node, peer, peer_plugin) arguments. Every field
/// may be empty; a plugin that needs one that is missing throws plugin_error
/// (cipher) or fails the check (auth).
///
/// The peers are shared and const: a context built for a message keeps its
/// peers alive however long the message is in flight, even if the node
/// forgets the peer meanwhile. Owners replace a peer's entry to update it
/// rather than change it in place, so a context sees the peer as it was (a
/// node's peer table shares one entry until the peer's data or addresses
/// change, so its last_rx may be older than the table's).
struct plugin_context {
  /// The peer the message goes to or came from.
  std::shared_ptr<const peer> remote{};
  /// The node's peer plugin, to parse the peer's data. Non-owning: the node
  /// that builds contexts owns its peer plugin and outlives them.
  peer_plugin_ref peer_plugin{};
  /// This node's own peer entry (the reference's node.local_peer).
  std::shared_ptr<const peer> local{};
};

}  // namespace netaio::inline v0
