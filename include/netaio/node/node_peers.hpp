// What tcp_server and tcp_client share besides their sockets: the logger,
// the peer table with its management (the reference's add_or_update_peer,
// get_peer, remove_peer, manage_peers_automatically), the plugin context
// built for each peer, and the peer sweeper that expires lost peers after
// their grace period as a child of the node's scope (seed 003).
#pragma once

#include <netaio/core/event_loop.hpp>
#include <netaio/core/sleep.hpp>
#include <netaio/core/task.hpp>
#include <netaio/core/task_scope.hpp>
#include <netaio/node/log.hpp>
#include <netaio/node/peer_messages.hpp>
#include <netaio/node/peers.hpp>
#include <netaio/plugins/context.hpp>
#include <netaio/plugins/layers.hpp>
#include <netaio/plugins/peer.hpp>
#include <netaio/plugins/peer_plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace netaio::inline v0 {

/// Logging and peers of a node whose messages are M.
template <message_protocol M>
class basic_node_peers {
 public:
  basic_node_peers(event_loop& loop, peer_table_options opts) : loop_(&loop), peers_(opts) {}
  basic_node_peers(const basic_node_peers&) = delete;
  basic_node_peers& operator=(const basic_node_peers&) = delete;

  /// The node's logger (stderr, warning and above, until changed).
  logger& log() noexcept { return log_; }
  /// The reference's set_logger: replaces the sink and threshold.
  void set_logger(logger l) { log_ = std::move(l); }

  /// The peer plugin used to pack and unpack peers (the default one until
  /// replaced); `p` must outlive the node.
  void set_peer_plugin(peer_plugin_ref p) noexcept { peer_plugin_ = p; }
  peer_plugin_ref peer_plugin() const noexcept { return peer_plugin_; }
  /// This node's own peer (the reference's local_peer); its id is never
  /// added to the table.
  void set_local_peer(peer local) {
    peers_.set_local_id(local.id);
    local_ = std::make_shared<const peer>(std::move(local));
  }
  const peer* local_peer() const noexcept { return local_.get(); }

  /// The reference's add_or_update_peer: false for the local peer.
  bool add_or_update_peer(const byte_buffer& id, std::optional<byte_buffer> data,
                          const peer_address& addr) {
    return peers_.add_or_update(id, std::move(data), addr, now_seconds());
  }
  /// The reference's get_peer: by id, else by address; null if unknown.
  const peer* get_peer(const std::optional<peer_address>& addr,
                       const std::optional<byte_buffer>& id = std::nullopt) const {
    return peers_.get(addr, id);
  }
  /// The reference's remove_peer; false if unknown.
  bool remove_peer(const byte_buffer& id) { return peers_.remove(id); }
  /// The table itself (iteration, expiry, callbacks).
  peer_table& peers() noexcept { return peers_; }
  /// Whether manage_peers_automatically() is on.
  bool managing_peers() const noexcept { return managing_; }

  /// Seconds on the node's loop clock (virtual in tests).
  std::int64_t now_seconds() const noexcept {
    return std::chrono::duration_cast<std::chrono::seconds>(loop_->now().time_since_epoch())
        .count();
  }

 protected:
  /// What the plugins are told about a message to or from `addr`.
  plugin_context context_for(const std::optional<peer_address>& addr) const {
    plugin_context ctx{{}, peer_plugin_, local_};
    if (addr && !peers_.empty())
      ctx.remote = peers_.share(*addr);  // (an empty table is not searched)
    return ctx;
  }

  template <class R, class AddressOf>
  void enable_peer_management(R& router, peer local, std::string_view app_id,
                              const plugin_layer<M>& inner, AddressOf address_of) {
    if (!local.id) throw error("netaio: manage_peers_automatically: the local peer needs an id");
    set_local_peer(std::move(local));
    app_id_ = to_buffer(as_bytes(app_id));
    peer_management pm;
    pm.table = &peers_;
    pm.plugin = peer_plugin_;
    pm.local = local_.get();
    pm.app_id = app_id_;
    pm.clock = [this] { return now_seconds(); };
    pm.log = &log_;
    manage_peers(router, std::move(pm), std::move(address_of), inner);
    managing_ = true;
  }
  template <class R>
  void disable_peer_management(R& router) {
    if (!managing_) return;
    stop_managing_peers(
        router, std::string_view(reinterpret_cast<const char*>(app_id_.data()), app_id_.size()));
    managing_ = false;
  }

  M advertise_message() const {
    return make_peer_msg<M>(M::message_type_t::advertise_peer, *local_, peer_plugin_, app_id_);
  }
  M disconnect_message() const {
    return make_peer_msg<M>(M::message_type_t::disconnect, *local_, peer_plugin_, app_id_);
  }

  /// Starts the peer sweeper in `scope` (once): it removes peers whose grace
  /// period is over. It is the node's child, so the node's stop ends it:
  /// nothing to switch off for tests (seed 004).
  void start_peer_tasks(task_scope& scope) {
    if (!managing_ || sweeper_started_) return;
    sweeper_started_ = true;
    scope.spawn([this]() { return sweep_peers(); }, "peer sweeper");
  }

  void touch_peer(const peer_address& addr) {
    if (managing_) peers_.touch(addr, now_seconds());
  }
  /// The connection to `addr` went away without a DISCONNECT: its peer is
  /// removed after the grace period, unless heard from again.
  void connection_lost(const peer_address& addr) {
    if (const peer* p = peers_.get(addr)) peers_.mark_lost(*p->id, now_seconds());
  }
  /// A node's stop: every peer forgotten.
  void clear_peers() noexcept {
    try {
      peers_.clear();
    } catch (...) {
    }
  }

  logger log_;

 private:
  task<void> sweep_peers() {
    const auto& o = peers_.options();
    const std::int64_t every =
        std::max<std::int64_t>(1, std::min(o.grace, o.timeout > 0 ? o.timeout : o.grace) / 2);
    for (;;) {
      co_await sleep_for(std::chrono::seconds(every));
      for (const peer& p : peers_.expire(now_seconds()))
        log_.debug(std::nullopt, "peer expired after its grace period (",
                   p.addrs.empty() ? std::string("no address") : to_string(*p.addrs.begin()), ")");
    }
  }

  event_loop* loop_;
  peer_table peers_;
  default_peer_plugin default_peer_plugin_{};
  peer_plugin_ref peer_plugin_{default_peer_plugin_};
  std::shared_ptr<const peer> local_;
  byte_buffer app_id_ = to_buffer(as_bytes("netaio"));
  bool managing_ = false;
  bool sweeper_started_ = false;
};

}  // namespace netaio::inline v0
