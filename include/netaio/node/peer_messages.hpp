// The reference's automatic peer management as router handlers:
// ADVERTISE_PEER (add the peer, answer PEER_DISCOVERED), PEER_DISCOVERED (add
// it) and DISCONNECT (remove it), at the keys (type, app_id), with peers
// carried through the peer plugin.
#pragma once

#include <netaio/node/log.hpp>
#include <netaio/node/peers.hpp>
#include <netaio/node/send.hpp>
#include <netaio/plugins/layers.hpp>
#include <netaio/plugins/peer.hpp>
#include <netaio/plugins/peer_plugin.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/keys.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace netaio::inline v0 {

/// A message of type `t` carrying `local` packed by `plugin`, at uri `app_id`
/// (what ADVERTISE_PEER, PEER_DISCOVERED and DISCONNECT carry).
template <message_protocol M>
M make_peer_msg(typename M::message_type_t t, const peer& local, peer_plugin_ref plugin,
                byte_view app_id) {
  return M::prepare(M::body_t::prepare(plugin.pack(local), app_id, 0), t);
}

/// What the peer-management handlers work with. Everything referred to must
/// outlive the router they are registered on.
struct peer_management {
  /// Where peers are kept.
  peer_table* table = nullptr;
  /// Unpacks received peers and packs `local` for answers.
  peer_plugin_ref plugin{};
  /// This node's own peer.
  const peer* local = nullptr;
  /// The uri the three messages use (the reference's app_id).
  byte_buffer app_id = to_buffer(as_bytes("netaio"));
  /// Seconds on the node's clock.
  std::function<std::int64_t()> clock{};
  /// Where unpacking failures are reported (at error, as the reference does).
  const logger* log = nullptr;
};

namespace detail {

// The sender's peer from a peer-management message, or nullopt (logged).
inline std::optional<peer> unpack_peer(const peer_management& pm, byte_view content,
                                       const std::optional<peer_address>& from,
                                       std::string_view what, bool need_data) {
  peer p;
  try {
    p = pm.plugin.unpack(content);
  } catch (...) {
    pm.log->error(from, "could not unpack the peer in ", what, ": ", current_exception_text());
    return std::nullopt;
  }
  if (!p.id || (need_data && !p.data)) {
    pm.log->error(from, "the peer in ", what, " has no ", p.id ? "data" : "id");
    return std::nullopt;
  }
  if (!from) {
    pm.log->error(from, what, " from an unknown address");
    return std::nullopt;
  }
  return p;
}

}  // namespace detail

/// Registers the three handlers on `router` (a basic_router with the
/// reference's keys). `address_of(conn)` gives a handler's sender address;
/// `inner` is the handlers' plugin layer.
template <class R, class AddressOf>
void manage_peers(R& router, peer_management pm, AddressOf address_of,
                  plugin_layer<typename R::message_t> inner = {}) {
  using M = typename R::message_t;
  using MT = typename M::message_type_t;
  using C = typename R::connection_t;
  const std::string_view app(reinterpret_cast<const char*>(pm.app_id.data()), pm.app_id.size());
  router.on(
      R::key_type::of(MT::advertise_peer, app),
      [pm, address_of](M& m, C& c) -> std::optional<M> {
        const std::optional<peer_address> from = address_of(c);
        pm.log->debug(from, "ADVERTISE_PEER received");
        auto p = detail::unpack_peer(pm, m.body().content(), from, "ADVERTISE_PEER", true);
        if (!p || !pm.table->add_or_update(*p->id, std::move(p->data), *from, pm.clock()))
          return std::nullopt;
        return make_peer_msg<M>(MT::peer_discovered, *pm.local, pm.plugin, pm.app_id);
      },
      inner);
  router.on(
      R::key_type::of(MT::peer_discovered, app),
      [pm, address_of](M& m, C& c) {
        const std::optional<peer_address> from = address_of(c);
        pm.log->debug(from, "PEER_DISCOVERED received");
        auto p = detail::unpack_peer(pm, m.body().content(), from, "PEER_DISCOVERED", true);
        if (p) pm.table->add_or_update(*p->id, std::move(p->data), *from, pm.clock());
      },
      inner);
  router.on(
      R::key_type::of(MT::disconnect, app),
      [pm, address_of](M& m, C& c) {
        const std::optional<peer_address> from = address_of(c);
        pm.log->debug(from, "DISCONNECT received");
        auto p = detail::unpack_peer(pm, m.body().content(), from, "DISCONNECT", false);
        if (p) pm.table->remove(*p->id);
      },
      inner);
}

/// Removes the three handlers manage_peers() registered for `app_id`.
template <class R>
void stop_managing_peers(R& router, std::string_view app_id = "netaio") {
  using MT = typename R::message_t::message_type_t;
  router.remove(R::key_type::of(MT::advertise_peer, app_id));
  router.remove(R::key_type::of(MT::peer_discovered, app_id));
  router.remove(R::key_type::of(MT::disconnect, app_id));
}

}  // namespace netaio::inline v0
