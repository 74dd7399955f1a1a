// The peer table: known peers by id and by address, expiry of silent or
// lost peers after a grace period, and removal that is safe while the table
// is being iterated (a broadcast, a handler, an expiry sweep).
#pragma once

#include <netaio/detail/config.hpp>
#include <netaio/plugins/peer.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/keys.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

/// When peers expire. Times are seconds on the node's clock.
struct peer_table_options {
  /// Silence after which a peer is stale (the reference's peer_timeout); 0: never.
  std::int64_t timeout = 60;
  /// How long a stale or lost peer stays before it is removed. The
  /// reference removes at once (grace 0); a peer heard from within the grace
  /// is kept, with nothing lost.
  std::int64_t grace = 30;
};

/// What peer_table::on_event() reports.
enum class peer_event {
  added,    ///< a peer not known before (or known again after its removal)
  removed,  ///< expired, disconnected, or cleared at a stop
};

/// Known peers. Lookups by id or address; expiry by expire(now); removal
/// from anywhere, including from inside for_each() (the entry disappears
/// from view at once and is erased once no iteration is running).
class peer_table {
 public:
  /// Called with each peer as it is removed (to unsubscribe it, say).
  using removed_callback = std::function<void(const peer&)>;
  /// Called with each discovery and removal (see on_event).
  using event_callback = std::function<void(peer_event, const peer&)>;

  /// `local_id`: this node's own id, never added (the reference ignores it).
  explicit peer_table(peer_table_options opts = {},
                      std::optional<byte_buffer> local_id = std::nullopt)
      : opts_(opts), local_id_(std::move(local_id)) {}
  peer_table(const peer_table&) = delete;
  peer_table& operator=(const peer_table&) = delete;

  const peer_table_options& options() const noexcept { return opts_; }
  /// Changes the timeout and grace; the next expire() uses them.
  void set_options(peer_table_options opts) noexcept { opts_ = opts; }
  void set_local_id(std::optional<byte_buffer> id) { local_id_ = std::move(id); }
  void on_removed(removed_callback cb) { on_removed_ = std::move(cb); }
  /// Reports each peer as it is added (new, or back after its removal; not
  /// a refresh) and as it is removed (after on_removed's callback). For the
  /// program's own use — a log line, a display — while on_removed stays the
  /// node's. The callback must not add or remove peers.
  void on_event(event_callback cb) { on_event_ = std::move(cb); }

  /// Adds the peer `id` seen at `addr` now, or refreshes it (new data if
  /// given, the address added, no longer stale or lost). False for this
  /// node's own id, which is never added (the reference's add_or_update_peer).
  bool add_or_update(const byte_buffer& id, std::optional<byte_buffer> data,
                     const peer_address& addr, std::int64_t now) {
    if (local_id_ && id == *local_id_) return false;
    auto [it, added] = peers_.try_emplace(id);
    entry& e = it->second;
    const bool is_new = added || e.removed;
    if (is_new) {
      if (e.removed) --pending_erase_;  // removed and back within one iteration
      e = entry{};
      e.p.id = id;
    }
    e.p.update(now, std::move(data));
    e.p.addrs.insert(addr);
    e.lost_since.reset();
    e.shared.reset();  // its data or addresses may have changed
    if (const auto old = addrs_.find(addr); old != addrs_.end() && old->second != id)
      forget_address(old->second, addr);
    addrs_.insert_or_assign(addr, id);
    if (is_new && on_event_) on_event_(peer_event::added, e.p);
    return true;
  }

  /// Records that the peer at `addr` was heard from at `now` (a time
  /// earlier than the last one recorded changes nothing).
  void touch(const peer_address& addr, std::int64_t now) {
    if (entry* e = live(addr)) {
      e->p.last_rx = std::max(e->p.last_rx, now);
      e->lost_since.reset();
    }
  }

  /// The peer's connection went away without a DISCONNECT: remove it after
  /// the grace period unless it is heard from again.
  void mark_lost(const byte_buffer& id, std::int64_t now) {
    if (entry* e = live(id); e && !e->lost_since) e->lost_since = now;
  }

  /// The peer with `id`, else the one at `addr` (the reference's get_peer).
  const peer* get(const std::optional<peer_address>& addr,
                  const std::optional<byte_buffer>& id = std::nullopt) const {
    if (id) {
      if (const entry* e = live(*id)) return &e->p;
    }
    if (addr) {
      if (const entry* e = live(*addr)) return &e->p;
    }
    return nullptr;
  }

  /// The peer at `addr`, shared (null if none): what a plugin context holds
  /// for every message to or from it. Made once and handed out again until
  /// the peer's data or addresses change (a later change makes a new one;
  /// one handed out stays as it was). Its last_rx is as of when it was made.
  std::shared_ptr<const peer> share(const peer_address& addr) const {
    const entry* e = live(addr);
    if (e == nullptr) return nullptr;
    if (!e->shared) e->shared = std::make_shared<const peer>(e->p);
    return e->shared;
  }

  /// Whether the peer is stale (silent past the timeout) or lost, and so due
  /// for removal once the grace period ends.
  bool is_stale(const peer& p, std::int64_t now) const {
    const auto it = peers_.find(*p.id);
    if (it == peers_.end()) return false;
    return it->second.lost_since || (opts_.timeout > 0 && p.timed_out(now, opts_.timeout));
  }

  /// Removes the peer `id` now (a DISCONNECT); false if unknown.
  bool remove(const byte_buffer& id) {
    entry* e = live(id);
    if (!e) return false;
    e->removed = true;
    for (const auto& a : e->p.addrs) {
      if (const auto it = addrs_.find(a); it != addrs_.end() && it->second == id) addrs_.erase(it);
    }
    ++pending_erase_;
    if (on_removed_) on_removed_(e->p);
    if (on_event_) on_event_(peer_event::removed, e->p);
    collect();
    return true;
  }

  /// Removes every peer whose grace period is over: lost for `grace` seconds,
  /// or silent for more than `timeout + grace`. Returns the removed peers.
  std::vector<peer> expire(std::int64_t now) {
    std::vector<byte_buffer> due;
    for_each([&](const peer& p) {
      const entry& e = peers_.find(*p.id)->second;
      const bool lost_out = e.lost_since && now - *e.lost_since >= opts_.grace;
      const bool silent_out = opts_.timeout > 0 && p.timed_out(now, opts_.timeout + opts_.grace);
      if (lost_out || silent_out) due.push_back(*p.id);
    });
    std::vector<peer> out;
    for (const auto& id : due) {
      if (const entry* e = live(id)) {
        out.push_back(e->p);
        remove(id);
      }
    }
    return out;
  }

  /// Calls `f(const peer&)` for every peer. `f` may add, refresh and remove
  /// peers (itself included): a removed peer is not visited after its
  /// removal; one added meanwhile may or may not be visited.
  template <class F>
  void for_each(F&& f) {
    ++iterating_;
    struct done {
      peer_table* t;
      ~done() {
        --t->iterating_;
        t->collect();
      }
    } guard{this};
    for (auto it = peers_.begin(); it != peers_.end(); ++it) {
      if (!it->second.removed) f(std::as_const(it->second.p));
    }
  }

  /// The peers, copied (for sending to each while the table may change).
  std::vector<peer> snapshot() const {
    std::vector<peer> out;
    for (const auto& [id, e] : peers_)
      if (!e.removed) out.push_back(e.p);
    return out;
  }

  std::size_t size() const noexcept { return peers_.size() - pending_erase_; }
  bool empty() const noexcept { return size() == 0; }

  /// Removes every peer (as by remove(), callbacks included): a node's stop.
  void clear() {
    for_each([&](const peer& p) { remove(*p.id); });
  }

 private:
  struct entry {
    peer p;
    std::optional<std::int64_t> lost_since;
    bool removed = false;  // erased once no iteration runs
    // share()'s copy of p, while p's data and addresses are unchanged (a
    // message's copy of its peer cost a fifth of a UDP node's datagram).
    mutable std::shared_ptr<const peer> shared;
  };

  entry* live(const byte_buffer& id) {
    const auto it = peers_.find(id);
    return it == peers_.end() || it->second.removed ? nullptr : &it->second;
  }
  const entry* live(const byte_buffer& id) const {
    const auto it = peers_.find(id);
    return it == peers_.end() || it->second.removed ? nullptr : &it->second;
  }
  entry* live(const peer_address& a) {
    const auto it = addrs_.find(a);
    return it == addrs_.end() ? nullptr : live(it->second);
  }
  const entry* live(const peer_address& a) const {
    const auto it = addrs_.find(a);
    return it == addrs_.end() ? nullptr : live(it->second);
  }
  // An address now belongs to another peer: the old one no longer has it.
  void forget_address(const byte_buffer& id, const peer_address& a) {
    if (entry* e = live(id)) {
      e->p.addrs.erase(a);
      e->shared.reset();
    }
  }
  // Erases removed entries, unless an iteration could still be standing on one.
  void collect() {
    if (iterating_ != 0 || pending_erase_ == 0) return;
    std::erase_if(peers_, [](const auto& kv) { return kv.second.removed; });
    pending_erase_ = 0;
  }

  peer_table_options opts_;
  std::optional<byte_buffer> local_id_;
  removed_callback on_removed_;
  event_callback on_event_;
  // Node-based: entries stay put while others are added, so for_each can
  // go on after its callback added peers.
  std::map<byte_buffer, entry> peers_;
  std::map<peer_address, byte_buffer> addrs_;
  std::size_t pending_erase_ = 0;
  int iterating_ = 0;
};

}  // namespace netaio::inline v0
