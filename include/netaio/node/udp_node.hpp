// The UDP node: the reference's UDPNode on one socket, owned by one task
// scope. One receive loop reads datagrams; each whole datagram is a message
// that goes through the shared pipeline in a child task of its own (so a
// coroutine handler may itself make requests through this node), and the
// answer goes back to the sender. Peers are discovered by advertisement and
// expire after a grace period; stop() says DISCONNECT and leaves nothing.
#pragma once

#include <netaio/core/deadline.hpp>
#include <netaio/core/detail/address_checked.hpp>
#include <netaio/core/error.hpp>
#include <netaio/core/event.hpp>
#include <netaio/core/sleep.hpp>
#include <netaio/core/task.hpp>
#include <netaio/core/task_scope.hpp>
#include <netaio/io/address.hpp>
#include <netaio/io/error.hpp>
#include <netaio/io/io_context.hpp>
#include <netaio/io/udp_socket.hpp>
#include <netaio/node/log.hpp>
#include <netaio/node/peer_address.hpp>
#include <netaio/node/peer_messages.hpp>
#include <netaio/node/peers.hpp>
#include <netaio/node/pipeline.hpp>
#include <netaio/node/router.hpp>
#include <netaio/node/send.hpp>
#include <netaio/node/timeout.hpp>
#include <netaio/plugins/context.hpp>
#include <netaio/plugins/layers.hpp>
#include <netaio/plugins/peer.hpp>
#include <netaio/plugins/peer_plugin.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/helpers.hpp>
#include <netaio/wire/message.hpp>
#include <netaio/wire/wire_error.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

template <message_protocol M>
class basic_udp_node;

/// What a UDP node's handlers get as their connection: the node, and the
/// sender of the datagram being handled.
template <message_protocol M>
struct basic_udp_sender {
  basic_udp_node<M>* node = nullptr;
  endpoint from;
  peer_address address;
};

/// How a UDP node binds, joins its multicast group and seals messages.
template <message_protocol M = message>
struct basic_udp_node_options {
  /// Interface and port ("0.0.0.0:8888", "[::]:0", "127.0.0.1:0").
  endpoint bind = endpoint{ip_address::any(), 8888};
  /// The group multicast() sends to and the node joins: 224.0.0.1 (the
  /// reference's) for IPv4, ff02::1 for IPv6 unless given.
  std::optional<ip_address> multicast_group{};
  /// IPv4: the interface to multicast on and join with (the reference uses
  /// its bind address). Loopback needs it set where lo lacks IFF_MULTICAST.
  std::optional<ip_address> multicast_interface{};
  /// IPv6: the interface index to multicast on and join with (0: default).
  unsigned multicast_interface_index = 0;
  /// Join the group at start (a failure is logged; the node runs without it).
  bool join_multicast = true;
  /// Receive our own multicasts on this host (other nodes here need it).
  bool multicast_loopback = true;
  int multicast_ttl = 1;
  /// Drop datagrams from our own port on a local address (our multicasts),
  /// as the reference's ignore_own_ip does, narrowed to this node's port.
  bool ignore_own_datagrams = true;
  /// The node's own plugins: the outer layer of every message.
  plugin_layer<M> plugins{};
  /// Parses peers' data; empty: the reference's default peer plugin.
  peer_plugin_ref peer_plugin{};
  /// This node's peer (id and data): needed to manage peers.
  std::optional<peer> local_peer{};
  /// What a malformed datagram gets back: the reference answers a plain
  /// "invalid message"; drop answers nothing.
  invalid_frame_policy invalid = invalid_frame_policy::answer_plain;
  logger log{};
};

/// A call's sealing: its own (inner) plugins, and whether the node's apply.
template <message_protocol M = message>
struct udp_send_options {
  plugin_layer<M> inner{};
  bool use_auth = true;
  bool use_cipher = true;
};

/// A request's kind, payload, sealing and limit (the reference's defaults).
template <message_protocol M = message>
struct udp_request_options {
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  /// REQUEST_URI unless given (CREATE_URI, UPDATE_URI, DELETE_URI...).
  std::optional<typename M::message_type_t> type{};
  /// Address-checked for g++ 12, as call_options::server (read it with
  /// `content.get()`).
  detail::address_checked<byte_buffer> content{};
  plugin_layer<M> inner{};
  bool use_auth = true;
  bool use_cipher = true;
};

/// manage_peers_automatically()'s settings; the defaults are the reference's
/// but for the grace period, which the reference does not have.
template <message_protocol M = message>
struct udp_peer_management_options {
  std::chrono::seconds advertise_every{20};
  std::string app_id = "netaio";
  /// Silence after which a peer is stale.
  std::chrono::seconds peer_timeout{60};
  /// How long a stale peer is kept before removal (0: the reference's at once).
  std::chrono::seconds grace{30};
  /// The inner plugins of the three peer messages.
  plugin_layer<M> plugins{};
  /// Also advertised to by unicast: multicast reaches only nodes bound to
  /// this node's port, so nodes on other ports of one host need this.
  std::vector<endpoint> advertise_to{};
};

/// The reference's UDPNode. Use on its io_context's thread; construct it in
/// the task (or before the loop) that will stop or join it.
template <message_protocol M = message>
class basic_udp_node {
 public:
  using message_t = M;
  using message_type_t = typename M::message_type_t;
  using sender_t = basic_udp_sender<M>;
  using router_t = basic_router<M, sender_t>;
  using key_type = typename router_t::key_type;
  using options_t = basic_udp_node_options<M>;
  using send_options = udp_send_options<M>;
  using request_options = udp_request_options<M>;
  using peer_management_options = udp_peer_management_options<M>;
  using duration = event_loop::duration;

  /// A node that will bind `opts.bind` at start().
  explicit basic_udp_node(io_context& io, options_t opts = {})
      : io_(&io),
        opts_(std::move(opts)),
        log_(opts_.log),
        pipeline_(router_, log_,
                  pipeline_options<M>{.outer = opts_.plugins, .invalid = opts_.invalid}),
        peer_plugin_(opts_.peer_plugin ? opts_.peer_plugin : peer_plugin_ref(default_plugin_)),
        scope_(io) {
    if (opts_.local_peer) set_local_peer(std::move(*opts_.local_peer));
    // One bad handler or send must not stop the node: failures are logged.
    scope_.supervise([this](const child_error& e) {
      log_.error(std::nullopt, "task '", std::string(e.name), "' failed: ", error_text(e.error));
    });
    scope_.on_stuck([this](std::span<const stuck_task> stuck) {
      for (const auto& t : stuck)
        log_.error(std::nullopt, "stop: task '", std::string(t.name),
                   "' did not end within the grace period; destroyed");
    });
    peers_.on_removed([this](const peer& p) { unsubscribe_everywhere(p); });
    // Unlike the reference's: answers get no answer (two nodes would
    // otherwise trade "not found" forever), and the answer keeps the uri, so
    // a request for an unknown uri gets NOT_FOUND instead of a timeout.
    router_.set_default_handler([](M& m) -> std::optional<M> {
      if (is_answer(m.type())) return std::nullopt;
      return make_not_found_msg<M>("not found", m.body().uri());
    });
  }
  basic_udp_node(const basic_udp_node&) = delete;
  basic_udp_node& operator=(const basic_udp_node&) = delete;

  /// Binds, joins the multicast group and starts the receive loop. Throws
  /// io_error if the address cannot be bound.
  void start() {
    if (started_) throw error("netaio: udp node: already started");
    udp_options uo{.reuse_address = true};
    sock_ = udp_socket::bind(*io_, opts_.bind, uo);
    local_ = sock_.local_endpoint();
    const bool v4 = local_.address().is_v4();
    if (opts_.multicast_group) {
      group_ = *opts_.multicast_group;
    } else {
      group_ = ip_address::parse(v4 ? "224.0.0.1" : "ff02::1");
    }
    setup_multicast(v4);
    started_ = true;
    stop_begun_ = false;
    scope_.spawn([this]() -> task<void> { co_await receive_loop(); }, "udp receive loop");
    log_.info(std::nullopt, "udp node started on ", local_.to_string());
  }

  /// Stops the node: every task cancelled, then DISCONNECT to known peers
  /// (within half the grace), then the tasks joined within what is left of
  /// `grace`, the socket closed and no peer left. Idempotent. From inside the node (a handler, a
  /// timeout handler) it only cancels: the node's owner completes it with
  /// stop() or join().
  task<void> stop(duration grace = std::chrono::seconds(5)) {
    const auto deadline = io_->now() + grace;
    if (!stop_begun_ && started_) {
      stop_begun_ = true;
      // Everything of the node is cancelled before the DISCONNECT, as
      // stop_peer_management() cancels its loop first: the advertise loop,
      // the receive loop and the handlers' answers (a PEER_DISCOVERED) can
      // no longer send, since a cancelled task's send fails before the
      // socket is touched; so nothing of ours follows the DISCONNECT and
      // adds us back at the other nodes. The DISCONNECTs go from here,
      // shielded (this task may be a child of the node).
      scope_.cancel();
      try {
        co_await shield(grace / 2, say_disconnect());
      } catch (const timed_out&) {
        log_.warning(std::nullopt,
                     "stop: DISCONNECT not sent to every peer within half the grace period");
      }
    }
    // What the DISCONNECTs left of the grace: the whole stop stays within it.
    co_await scope_.stop(std::max(duration::zero(), deadline - io_->now()));
    if (scope_.size() == 0) finish();
  }

  /// stop(grace) as a child of the node, for callers that cannot await: a
  /// plain timeout handler, or another thread through io.post(). The owner
  /// awaits join() (or stop()) for the end.
  void request_stop(duration grace = std::chrono::seconds(5)) {
    if (scope_.closed() || scope_.cancelled()) return;
    scope_.spawn([this, grace]() -> task<void> { co_await stop(grace); }, "udp node stop");
  }

  /// Waits until the node has stopped (after a stop from inside it or a
  /// request_stop), then releases what it held, as stop() does.
  task<void> join() {
    co_await scope_.join();
    finish();
  }

  // ---- handlers ----

  /// Handles messages with `key` (see basic_router::on).
  template <class F>
  void on(key_type key, F&& handler, plugin_layer<M> inner = {}) {
    router_.on(std::move(key), std::forward<F>(handler), std::move(inner));
  }
  /// Handles the next message with `key` only.
  template <class F>
  void once(key_type key, F&& handler, plugin_layer<M> inner = {}) {
    router_.once(std::move(key), std::forward<F>(handler), std::move(inner));
  }
  /// on(), under the reference's name (add_handler).
  template <class F>
  void add(key_type key, F&& handler, plugin_layer<M> inner = {}) {
    on(std::move(key), std::forward<F>(handler), std::move(inner));
  }
  /// once(), under the reference's name (add_ephemeral_handler).
  template <class F>
  void add_once(key_type key, F&& handler, plugin_layer<M> inner = {}) {
    once(std::move(key), std::forward<F>(handler), std::move(inner));
  }
  /// Removes the handler at `key`.
  bool remove(const key_type& key) { return router_.remove(key); }
  /// Removes the one-shot handler at `key`.
  bool remove_once(const key_type& key) { return router_.remove_once(key); }
  /// The handler registry (default and auth-error handlers, one-shot ones).
  router_t& router() noexcept { return router_; }
  /// Called when a request times out (plain, or a coroutine run in the node's scope).
  void set_timeout_handler(timeout_handler<basic_udp_node> h) { on_timeout_ = std::move(h); }

  // ---- sending ----

  /// Seals `msg` (the call's inner plugins, then the node's) for the peer at
  /// `to` and sends it. False if a plugin refused (logged). Throws io_error
  /// message_too_large if the frame exceeds the datagram limit.
  task<bool> send(M msg, const endpoint& to, send_options o = {}) {
    const peer_address addr = to_peer_address(to);
    std::optional<M> sealed =
        prepare_message(std::move(msg), o.inner, outer(o), context_for(addr), log_, addr);
    if (!sealed) co_return false;
    byte_buffer frame = encode_checked(*sealed);
    co_await send_datagram(frame, to);
    co_return true;
  }
  /// send() to a peer address ("127.0.0.1", 8888).
  task<bool> send(M msg, const peer_address& to, send_options o = {}) {
    return send(std::move(msg), to_endpoint(to), std::move(o));
  }

  /// Sends `msg` to every known peer (one address each), sealed once, or
  /// once per peer when a plugin is peer-specific. Returns how many were sent.
  task<std::size_t> broadcast(M msg, send_options o = {}) {
    auto out = prepare_for_each(msg, o, [&](auto&& add) {
      peers_.for_each([&](const peer& p) {
        if (!p.addrs.empty()) add(*p.addrs.begin(), std::make_shared<const peer>(p));
      });
    });
    co_return co_await send_all(std::move(out));
  }

  /// Sends `msg` to the multicast group at `port` (this node's by default).
  task<bool> multicast(M msg, send_options o = {}, std::optional<std::uint16_t> port = {}) {
    std::optional<M> sealed = prepare_message(std::move(msg), o.inner, outer(o),
                                              context_for(std::nullopt), log_, std::nullopt);
    if (!sealed) co_return false;
    byte_buffer frame = encode_checked(*sealed);
    const endpoint to{group_, port.value_or(local_.port())};
    co_await send_datagram(frame, to);
    co_return true;
  }

  /// Subscribes the address to `uri` (what notify() sends to).
  void subscribe(std::string_view uri, const peer_address& addr) {
    subs_[std::string(uri)].insert(addr);
  }
  /// Unsubscribes the address from `uri`; false if it was not subscribed.
  bool unsubscribe(std::string_view uri, const peer_address& addr) {
    const auto it = subs_.find(std::string(uri));
    if (it == subs_.end() || it->second.erase(addr) == 0) return false;
    if (it->second.empty()) subs_.erase(it);
    return true;
  }
  /// The addresses subscribed to `uri`.
  std::set<peer_address> subscribers(std::string_view uri) const {
    const auto it = subs_.find(std::string(uri));
    return it == subs_.end() ? std::set<peer_address>{} : it->second;
  }
  /// Sends `msg` to every subscriber of `uri`. Returns how many were sent.
  task<std::size_t> notify(std::string_view uri, M msg, send_options o = {}) {
    const std::set<peer_address> to = subscribers(uri);  // handlers may unsubscribe meanwhile
    auto out = prepare_for_each(msg, o, [&](auto&& add) {
      for (const auto& a : to) {
        const peer* p = peers_.get(a);
        add(a, p ? std::make_shared<const peer>(*p) : nullptr);
      }
    });
    co_return co_await send_all(std::move(out));
  }

  /// Sends a request for `uri` to `to` and waits for the answer (RESPOND_URI
  /// or OK, ERROR, AUTH_ERROR, NOT_FOUND), as the reference: one-shot
  /// handlers for those kinds from `to`. Throws timed_out after calling the
  /// timeout handler if none comes within `o.timeout`.
  task<M> request(std::string_view uri, const endpoint& to, request_options o = {}) {
    const peer_address addr = to_peer_address(to);
    const message_type_t type = o.type.value_or(message_type_t::request_uri);
    std::vector<key_type> keys{key_type::of(message_type_t::auth_error, uri, addr),
                               key_type::of(message_type_t::error, uri, addr)};
    keys.push_back(key_type::of(
        type == message_type_t::request_uri ? message_type_t::respond_uri : message_type_t::ok, uri,
        addr));
    if (type != message_type_t::create_uri)
      keys.push_back(key_type::of(message_type_t::not_found, uri, addr));

    auto state = std::make_shared<answer_state>();
    for (const auto& k : keys) {
      router_.once(
          k,
          [state, keys, k, r = &router_](M& m) {
            state->answer = m;
            state->ready.set();
            for (const auto& other : keys)
              if (!(other == k)) r->remove_once(other);
          },
          o.inner);
    }
    // Whatever ends the wait (answer, timeout, cancellation), no handler stays.
    struct cleanup {
      router_t* r;
      const std::vector<key_type>* keys;
      ~cleanup() {
        for (const auto& k : *keys)
          r->remove_once(k);
      }
    } guard{&router_, &keys};

    M req = M::prepare(M::body_t::prepare(o.content.get(), as_bytes(uri), 0), type);
    co_await send(std::move(req), to, {o.inner, o.use_auth, o.use_cipher});
    const bool answered = co_await move_on_after(o.timeout, state->ready.wait());
    if (answered && state->answer) co_return std::move(*state->answer);

    timed_out err("netaio: request for uri '" + std::string(uri) + "' @ " + to_string(addr) +
                  " timed out after " +
                  std::to_string(std::chrono::duration<double>(o.timeout).count()) + "s");
    timeout_context ctx{to_buffer(as_bytes(uri)), o.timeout, addr, {}};
    for (const auto& k : keys)
      ctx.keys.push_back(router_.describe(k));
    on_timeout_.invoke(scope_, log_, *this, timeout_kind::request, addr, err, ctx);
    throw err;
  }

  // ---- peers ----

  /// Sets this node's peer (id, data; addresses are not sent).
  void set_local_peer(peer p) {
    local_peer_ = std::make_shared<const peer>(std::move(p));
    peers_.set_local_id(local_peer_->id);
  }
  /// This node's peer, or null.
  const peer* local_peer() const noexcept { return local_peer_.get(); }
  /// The known peers.
  peer_table& peers() noexcept { return peers_; }
  /// The peer plugin in use.
  peer_plugin_ref peer_plugin() const noexcept { return peer_plugin_; }

  /// The reference's manage_peers_automatically: handlers for ADVERTISE_PEER
  /// (add, answer PEER_DISCOVERED), PEER_DISCOVERED (add) and DISCONNECT
  /// (remove) at `app_id`, and a loop that expires silent peers and
  /// advertises every `advertise_every`. Needs start() and a local peer.
  void manage_peers_automatically(peer_management_options o = {}) {
    if (!started_) throw error("netaio: udp node: start() before managing peers");
    if (!local_peer_ || !local_peer_->id)
      throw error("netaio: udp node: managing peers needs a local peer with an id");
    if (mgmt_) {
      mgmt_->loop.cancel();
      stop_managing_peers(router_, mgmt_->app_id);
    }
    peers_.set_options({o.peer_timeout.count(), o.grace.count()});
    peer_management pm{&peers_,
                       peer_plugin_,
                       local_peer_.get(),
                       to_buffer(as_bytes(o.app_id)),
                       [this] { return now_seconds(); },
                       &log_};
    manage_peers(
        router_, std::move(pm), [](sender_t& s) { return std::optional<peer_address>(s.address); },
        o.plugins);
    mgmt_.emplace(mgmt_state{o.app_id, o.plugins, o.advertise_to, {}});
    mgmt_->loop = scope_.spawn(
        [this, every = o.advertise_every]() -> task<void> { co_await advertise_loop(every); },
        "advertise peer");
  }

  /// Stops advertising, says DISCONNECT to the group and the known peers,
  /// and removes the three handlers.
  task<void> stop_peer_management() {
    if (!mgmt_) co_return;
    mgmt_->loop.cancel();
    co_await mgmt_->loop.join();
    co_await say_disconnect();
    stop_managing_peers(router_, mgmt_->app_id);
    mgmt_.reset();
  }

  /// Removes the peers whose grace period is over (the advertise loop does
  /// this each round); returns them.
  std::vector<peer> expire_peers() {
    std::vector<peer> gone = peers_.expire(now_seconds());
    for (const auto& p : gone)
      log_.info(p.addrs.empty() ? std::nullopt : std::optional(*p.addrs.begin()), "peer expired");
    return gone;
  }

  // ---- state ----

  /// The bound address (after start()).
  const endpoint& local_endpoint() const noexcept { return local_; }
  /// The multicast group (after start()).
  const ip_address& multicast_group() const noexcept { return group_; }
  const logger& log() const noexcept { return log_; }
  logger& log() noexcept { return log_; }
  /// The node's own plugins (applied to what is received from now on).
  const plugin_layer<M>& plugins() const noexcept { return pipeline_.options().outer; }
  /// The node's task scope (the receive and advertise loops, handlers).
  task_scope& scope() noexcept { return scope_; }
  bool running() const noexcept { return started_ && sock_.is_open(); }
  /// Seconds on the node's clock (what peer times are in).
  std::int64_t now_seconds() const noexcept {
    return std::chrono::duration_cast<std::chrono::seconds>(io_->now().time_since_epoch()).count();
  }

 private:
  using routed_t = typename basic_pipeline<router_t>::routed;

  struct answer_state {
    std::optional<M> answer;
    async_event ready;
  };
  struct mgmt_state {
    std::string app_id;
    plugin_layer<M> plugins;
    std::vector<endpoint> advertise_to;
    task_handle loop;
  };
  using prepared = std::vector<std::pair<endpoint, byte_buffer>>;

  static bool is_answer(message_type_t t) {
    using MT = message_type_t;
    switch (t) {
      case MT::respond_uri:
      case MT::ok:
      case MT::confirm_subscribe:
      case MT::confirm_unsubscribe:
      case MT::peer_discovered:
      case MT::error:
      case MT::auth_error:
      case MT::not_found:
      case MT::not_permitted:
      case MT::disconnect:
        return true;
      default:
        return false;
    }
  }

  static std::string error_text(const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (...) {
      return detail::current_exception_text();
    }
  }

  void setup_multicast(bool v4) {
    try {
      if (v4) {
        if (opts_.multicast_interface) sock_.set_multicast_interface(*opts_.multicast_interface);
      } else if (opts_.multicast_interface_index != 0) {
        sock_.set_multicast_interface(opts_.multicast_interface_index);
      }
      sock_.set_multicast_loopback(opts_.multicast_loopback);
      sock_.set_multicast_ttl(opts_.multicast_ttl);
      if (!opts_.join_multicast) return;
      if (v4 && opts_.multicast_interface) {
        sock_.join_group(group_, *opts_.multicast_interface);
      } else {
        sock_.join_group(group_, v4 ? 0u : opts_.multicast_interface_index);
      }
    } catch (const io_error& e) {
      log_.warning(std::nullopt, "multicast group ", group_.to_string(),
                   " unavailable: ", std::string_view(e.what()));
    }
  }

  plugin_layer<M> outer(const send_options& o) const {
    plugin_layer<M> l = pipeline_.options().outer;
    if (!o.use_auth) l.auth = {};
    if (!o.use_cipher) l.cipher = {};
    return l;
  }

  // What the plugins learn of the other side: its peer entry, if known.
  plugin_context context_for(const std::optional<peer_address>& addr) const {
    plugin_context ctx{nullptr, peer_plugin_, local_peer_};
    if (addr) ctx.remote = peers_.share(*addr);
    return ctx;
  }

  byte_buffer encode_checked(M& sealed) const {
    byte_buffer frame;
    encode_checked(sealed, frame);
    return frame;
  }
  // Appends the frame to `out`, which is left as it was if it throws.
  void encode_checked(M& sealed, byte_buffer& out) const {
    const std::size_t at = out.size();
    if constexpr (requires { sealed.encode_to(out); }) {
      try {
        sealed.encode_to(out);
      } catch (...) {
        out.resize(at);
        throw;
      }
    } else {  // the protocol concept asks for encode() only
      const byte_buffer frame = sealed.encode();
      out.insert(out.end(), frame.begin(), frame.end());
    }
    const std::size_t size = out.size() - at;
    const std::size_t limit = max_udp_payload(local_.family());
    if (size > limit) {
      out.resize(at);
      throw io_error(io_errc::message_too_large,
                     "netaio: udp node: a " + std::to_string(size) + "-byte message exceeds the " +
                         std::to_string(limit) + "-byte datagram limit; not sent");
    }
  }

  // Seals once, or per target when a plugin is peer-specific. `each(add)`
  // calls add(address, peer or null) for every target; it runs without
  // suspending, so it may iterate the peer table.
  template <class Each>
  prepared prepare_for_each(const M& msg, const send_options& o, Each&& each) {
    const plugin_layer<M> out_layer = outer(o);
    const bool per_peer = is_peer_specific(o.inner) || is_peer_specific(out_layer);
    std::optional<byte_buffer> shared;
    if (!per_peer) {
      std::optional<M> sealed =
          prepare_message(M(msg), o.inner, out_layer, context_for(std::nullopt), log_);
      if (!sealed) return {};
      shared = encode_checked(*sealed);
    }
    prepared out;
    each([&](const peer_address& a, std::shared_ptr<const peer> p) {
      const std::optional<endpoint> ep = try_to_endpoint(a);
      if (!ep) return;
      if (shared) {
        out.emplace_back(*ep, *shared);
        return;
      }
      plugin_context ctx{std::move(p), peer_plugin_, local_peer_};
      std::optional<M> sealed = prepare_message(M(msg), o.inner, out_layer, ctx, log_, a);
      if (sealed) out.emplace_back(*ep, encode_checked(*sealed));
    });
    return out;
  }

  task<std::size_t> send_all(prepared out) {
    std::size_t n = 0;
    for (auto& [to, frame] : out) {
      try {
        co_await send_datagram(frame, to);
        ++n;
      } catch (const io_error& e) {
        log_.warning(to_peer_address(to), "send failed: ", std::string_view(e.what()));
      }
    }
    co_return n;
  }

  // The socket's one send, held while a send is pending; its release wakes
  // the sends queued behind it.
  struct send_slot {
    basic_udp_node* n;
    explicit send_slot(basic_udp_node& node) noexcept : n(&node) { n->send_busy_ = true; }
    send_slot(const send_slot&) = delete;
    send_slot& operator=(const send_slot&) = delete;
    ~send_slot() {
      n->send_busy_ = false;
      n->send_free_.set();
      n->send_free_.reset();
    }
  };

  // One send at a time on the socket (it allows one pending send): a send
  // that would block makes the others queue behind it.
  task<void> send_datagram(byte_view frame, const endpoint& to) {
    if (send_busy_) {
      struct in_line {  // seen by the receive loop's fast path, which must not overtake
        std::size_t& n;
        explicit in_line(std::size_t& count) noexcept : n(++count) {}
        ~in_line() { --n; }
      } waiting{send_waiting_};
      while (send_busy_)
        co_await send_free_.wait();
    }
    const send_slot held(*this);
    co_await sock_.send_to(frame, to);
  }

  bool is_own(const endpoint& from) const {
    if (!opts_.ignore_own_datagrams || from.port() != local_.port()) return false;
    const ip_address& a = from.address();
    return a == local_.address() || a.is_loopback() ||
           (opts_.multicast_interface && a == *opts_.multicast_interface);
  }

  task<void> receive_loop() {
    std::vector<std::uint8_t> buf(65536);
    for (;;) {
      received_datagram d;
      try {
        d = co_await sock_.receive_from(buf);
      } catch (const io_error& e) {
        switch (e.errc()) {
          case io_errc::closed:
            co_return;
          case io_errc::message_truncated:
          case io_errc::refused:  // an ICMP error from an earlier send
          case io_errc::host_unreachable:
          case io_errc::network_unreachable:
            log_.warning(std::nullopt, "receive: ", std::string_view(e.what()));
            continue;
          default:
            throw;
        }
      }
      if (is_own(d.from)) continue;
      // Formatted once per sender in a row: datagrams mostly come in runs
      // from one peer.
      if (!last_from_ || *last_from_ != d.from) {
        last_addr_ = to_peer_address(d.from);
        last_from_ = d.from;
      }
      // (The loop alone changes it, and only here.)
      const std::optional<peer_address>& from = last_addr_;
      std::optional<M> msg;
      std::string bad;
      try {
        msg = M::decode(byte_view(buf.data(), d.size));
      } catch (const std::exception& e) {
        bad = e.what();
      }
      if (!msg) {
        // Outside the catch block: sending suspends.
        auto out =
            pipeline_.reject("dropped a datagram of " + std::to_string(d.size) + " bytes: " + bad,
                             from, context_for(from));
        if (out.reply) co_await send_reply(std::move(*out.reply), d.from);
        continue;
      }
      if (scope_.closed() || scope_.cancelled()) co_return;
      const std::int64_t heard = now_seconds();
      sender_t s;
      plugin_context ctx;
      std::optional<receive_outcome<M>> out;
      try {  // (what may throw here, allocation included, costs one datagram)
        s = sender_t{this, d.from, *from};
        ctx = context_for(from);
        routed_t r = pipeline_.enter(*msg, from, ctx);
        if (r.suspends()) {
          // A coroutine handler gets a task of its own: it may wait, even
          // for answers that only this loop can receive. The task itself,
          // not a callable making it: handle() takes what it needs by value
          // into its frame, and the node outlives its scope.
          scope_.spawn(handle(std::move(*msg), std::move(s), std::move(ctx), std::move(r), heard),
                       "udp datagram");
          continue;
        }
        // A plain handler runs here, in this frame: a task per datagram was
        // a sixth of the node's own cost, and the next datagram is read once
        // this one is answered.
        out = pipeline_.finish_now(r, *msg, s, from, ctx);
      } catch (...) {  // a plugin that threw, or cancellation
        if (scope_.cancelled()) throw;
        log_.error(from, "a datagram's handling failed: ", detail::current_exception_text());
        continue;
      }
      heard_from(*out, s.address, heard);
      if (!out->reply) continue;
      if (send_busy_ || send_waiting_ != 0) {  // behind the sends already waiting
        co_await send_reply(std::move(*out->reply), s.from);
        continue;
      }
      // The common case, in the node's send buffer (the slot is this loop's
      // until the send ends): a datagram send does not wait for room, and a
      // buffer per answer cost a tenth of the node's time.
      const send_slot held(*this);
      send_buf_.clear();
      if (!encode_reply(*out->reply, s.from, send_buf_)) continue;
      try {
        co_await sock_.send_to(send_buf_, s.from);
      } catch (const io_error& e) {
        log_unsent(s.from, e);
      }
    }
  }

  // A datagram whose handler is a coroutine, from where enter() left it.
  task<void> handle(M msg, sender_t s, plugin_context ctx, routed_t r, std::int64_t heard) {
    const endpoint from = s.from;
    receive_outcome<M> out = co_await pipeline_.receive_routed(std::move(r), std::move(msg), s,
                                                               s.address, std::move(ctx));
    heard_from(out, s.address, heard);
    if (out.reply) co_await send_reply(std::move(*out.reply), from);
  }

  // Heard from only if the message passed the checks: anyone can send a
  // datagram from a peer's address, and a forged one must not keep a silent
  // peer alive.
  void heard_from(const receive_outcome<M>& out, const peer_address& addr, std::int64_t heard) {
    if (accepted(out.status)) peers_.touch(addr, heard);
  }

  // Whether the pipeline took the message as authentic (its plugins' checks
  // passed), whatever the handler then made of it.
  static bool accepted(receive_status st) noexcept {
    return st != receive_status::auth_failed && st != receive_status::decrypt_failed &&
           st != receive_status::invalid;
  }

  // Sends an answer as it is (the pipeline sealed it, or it goes plain).
  task<void> send_reply(M reply, const endpoint& to) {
    byte_buffer frame;
    if (!encode_reply(reply, to, frame)) co_return;
    try {
      co_await send_datagram(frame, to);
    } catch (const io_error& e) {
      log_unsent(to, e);
    }
  }
  // Appends an answer's frame to `out`; false if it cannot go (too large
  // for a datagram: logged).
  bool encode_reply(M& reply, const endpoint& to, byte_buffer& out) const {
    try {
      encode_checked(reply, out);
      return true;
    } catch (const std::exception& e) {
      log_.error(to_peer_address(to), "answer not sent: ", std::string_view(e.what()));
      return false;
    }
  }
  void log_unsent(const endpoint& to, const io_error& e) const {
    log_.warning(to_peer_address(to), "answer not sent: ", std::string_view(e.what()));
  }

  task<void> advertise_loop(std::chrono::seconds every) {
    for (;;) {
      expire_peers();
      const M adv = make_peer_msg<M>(message_type_t::advertise_peer, *local_peer_, peer_plugin_,
                                     as_bytes(mgmt_->app_id));
      const send_options o{mgmt_->plugins};
      try {
        co_await multicast(adv, o);
      } catch (const io_error& e) {
        log_.debug(std::nullopt,
                   "advertisement to the group not sent: ", std::string_view(e.what()));
      }
      const std::vector<endpoint> targets = mgmt_->advertise_to;
      for (const auto& to : targets) {
        try {
          co_await send(adv, to, o);
        } catch (const io_error& e) {
          log_.warning(to_peer_address(to), "advertisement not sent: ", std::string_view(e.what()));
        }
      }
      co_await sleep_for(every);
    }
  }

  // DISCONNECT to the group, the advertised-to addresses and every known
  // peer. Never throws: a peer we cannot reach is a peer we are leaving anyway.
  task<void> say_disconnect() {
    if (!local_peer_ || !local_peer_->id || !sock_.is_open()) co_return;
    const std::string app = mgmt_ ? mgmt_->app_id : std::string("netaio");
    const send_options o{mgmt_ ? mgmt_->plugins : plugin_layer<M>{}};
    const M bye =
        make_peer_msg<M>(message_type_t::disconnect, *local_peer_, peer_plugin_, as_bytes(app));
    // Each send on its own, as the advertise loop does: one that fails (a
    // group or an address this socket cannot reach) must not keep the
    // DISCONNECT from the rest. broadcast() already goes on past a peer.
    if (mgmt_) {
      try {
        co_await multicast(bye, o);
      } catch (const io_error& e) {
        log_.warning(std::nullopt,
                     "DISCONNECT to the group not sent: ", std::string_view(e.what()));
      }
      const std::vector<endpoint> targets = mgmt_->advertise_to;
      std::set<peer_address> known;
      peers_.for_each([&](const peer& p) { known.insert(p.addrs.begin(), p.addrs.end()); });
      for (const auto& to : targets) {
        if (known.contains(to_peer_address(to))) continue;
        try {
          co_await send(bye, to, o);
        } catch (const io_error& e) {
          log_.warning(to_peer_address(to), "DISCONNECT not sent: ", std::string_view(e.what()));
        }
      }
    }
    try {
      co_await broadcast(bye, o);
    } catch (const operation_cancelled&) {
      throw;
    } catch (const std::exception& e) {
      log_.warning(std::nullopt, "DISCONNECT not sent to every peer: ", std::string_view(e.what()));
    }
  }

  void unsubscribe_everywhere(const peer& p) {
    for (auto it = subs_.begin(); it != subs_.end();) {
      for (const auto& a : p.addrs)
        it->second.erase(a);
      it = it->second.empty() ? subs_.erase(it) : std::next(it);
    }
  }

  // After every task ended: nothing of the node remains.
  void finish() {
    if (mgmt_) {
      stop_managing_peers(router_, mgmt_->app_id);
      mgmt_.reset();
    }
    peers_.clear();
    subs_.clear();
    sock_.close();
    started_ = false;
  }

  io_context* io_;
  options_t opts_;
  logger log_;
  router_t router_;
  basic_pipeline<router_t> pipeline_;
  default_peer_plugin default_plugin_;
  peer_plugin_ref peer_plugin_;
  std::shared_ptr<const peer> local_peer_;
  peer_table peers_;
  std::map<std::string, std::set<peer_address>> subs_;
  timeout_handler<basic_udp_node> on_timeout_;
  udp_socket sock_;
  endpoint local_;
  ip_address group_;
  std::optional<mgmt_state> mgmt_;
  bool started_ = false;
  bool stop_begun_ = false;
  bool send_busy_ = false;
  std::size_t send_waiting_ = 0;  // sends waiting for the slot
  byte_buffer send_buf_;          // an answer's frame, while its task holds the send slot
  async_event send_free_;
  std::optional<endpoint> last_from_;  // the last sender, and its address formatted
  std::optional<peer_address> last_addr_;
  // Last: destroyed first, so nothing it owned outlives what it used.
  task_scope scope_;
};

/// The UDP node of the default protocol.
using udp_node = basic_udp_node<message>;
/// Its handlers' connection type.
using udp_sender = basic_udp_sender<message>;
/// Its options.
using udp_node_options = basic_udp_node_options<message>;

}  // namespace netaio::inline v0
