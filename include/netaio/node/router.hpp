// The handler registry: handlers and one-shot handlers keyed as the
// reference keys them, the default (not-found), auth-error and failure
// answers. Safe to change from inside a handler that it is running.
#pragma once

#include <netaio/node/handler.hpp>
#include <netaio/node/log.hpp>
#include <netaio/plugins/auth_plugin.hpp>
#include <netaio/plugins/layers.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/helpers.hpp>
#include <netaio/wire/keys.hpp>
#include <netaio/wire/message_type.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace netaio::inline v0 {

namespace detail {

// A uri for logs: printable ASCII as is, anything else as \xNN.
inline void describe_uri(std::string& out, std::string_view uri) {
  static constexpr char digits[] = "0123456789abcdef";
  out += '\'';
  for (const char ch : uri) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += ch;
    } else {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  out += '\'';
}

template <message_type_enum MT>
void describe_type(std::string& out, MT t) {
  const std::string_view name = to_string(t);
  out += name;
  if (name == "custom") {
    out += '(';
    out += std::to_string(static_cast<unsigned>(t));
    out += ')';
  }
}

}  // namespace detail

/// The reference's key policy: (type, uri, peer address), (type, uri), type.
template <message_protocol M>
struct reference_keys {
  using key_type = basic_handler_key<typename M::message_type_t>;

  /// The keys of `msg` from `from`, most specific first.
  std::array<key_type, 3> extract(const M& msg, const std::optional<peer_address>& from) const {
    return keys_extractor(msg, from);
  }

  /// "REQUEST_URI", "(REQUEST_URI, 'echo')" or "(REQUEST_URI, 'echo', 10.0.0.1:80)".
  std::string describe(const key_type& k) const {
    std::string s;
    if (k.shape == key_shape::type_only) {
      detail::describe_type(s, k.type);
      return s;
    }
    s += '(';
    detail::describe_type(s, k.type);
    s += ", ";
    detail::describe_uri(s, k.uri);
    if (k.shape == key_shape::type_uri_peer) {
      s += ", ";
      s += k.peer ? to_string(*k.peer) : std::string("None");
    }
    s += ')';
    return s;
  }
};

/// How a router finds handler keys in a message: a `key_type` that is
/// hashable (std::hash) and comparable, `extract(msg, from)` giving the keys
/// most specific first, and `describe(key)` for logs.
template <class P, class M>
concept key_policy = message_protocol<M> && std::equality_comparable<typename P::key_type> &&
    requires(const P& p, const M& m, const std::optional<peer_address>& from,
             const typename P::key_type& k) {
  { p.extract(m, from) } -> std::ranges::input_range;
  { p.describe(k) } -> std::convertible_to<std::string>;
  { std::hash<typename P::key_type>{}(k) } -> std::convertible_to<std::size_t>;
};

/// The reference's auth_error_handler: no answer to a message that is itself
/// an error (ERROR, AUTH_ERROR), else the failing plugin's error().
template <message_protocol M>
std::optional<M> reference_auth_error_answer(const M& msg, const any_auth_plugin<M>& plugin) {
  using MT = typename M::message_type_t;
  if (msg.type() == MT::error || msg.type() == MT::auth_error) return std::nullopt;
  return plugin.error();
}

/// The text of the answer to a handler that threw. It names no detail of the
/// failure: those go to the log, not to the peer.
inline constexpr std::string_view handler_failure_text = "internal error";

/// Handlers for messages M on connections C (whatever the node passes its
/// handlers: a TCP connection, a UDP sender's context), keyed by Keys.
///
/// Lookup takes, for each key of a message in turn, a one-shot handler at
/// that key, else a handler at that key; the first found wins. Entries are
/// shared: a handler removed (or replaced, or a one-shot one consumed) while
/// it runs finishes with the entry it started with, so handlers may add and
/// remove handlers, themselves included, at any time.
template <message_protocol M, class C, key_policy<M> Keys = reference_keys<M>>
class basic_router {
 public:
  using message_t = M;
  using connection_t = C;
  using key_policy_t = Keys;
  using key_type = typename Keys::key_type;
  using keys_t = std::remove_cvref_t<decltype(std::declval<const Keys&>().extract(
      std::declval<const M&>(), std::declval<const std::optional<peer_address>&>()))>;
  /// Answers a message that failed `plugin`'s check (nullopt: no answer).
  using auth_error_handler = std::function<std::optional<M>(const M&, const any_auth_plugin<M>&)>;
  /// Answers a message whose handler threw `error` (nullopt: no answer).
  using failure_handler = std::function<std::optional<M>(const M&, std::exception_ptr error)>;

  /// A registered handler and its inner plugin layer.
  struct entry {
    erased_handler<M, C> fn;
    plugin_layer<M> inner;
    /// The handler is a coroutine (its call gives a task to await).
    bool suspends = false;
  };
  /// Where a message goes: the key matched (nullopt: the default handler),
  /// the entry (kept alive by this route), and whether it is one-shot.
  struct route {
    std::optional<key_type> key;
    std::shared_ptr<const entry> handler;
    bool once = false;
  };

  /// The reference's defaults: not found, the plugin's auth error, and an
  /// ERROR message for a handler that threw.
  explicit basic_router(Keys keys = Keys{}) : keys_(std::move(keys)) {
    set_default_handler([](M&) { return make_not_found_msg<M>(); });
    set_auth_error_handler(&reference_auth_error_answer<M>);
    set_failure_handler([](const M&, std::exception_ptr) {
      return std::optional<M>(make_error_msg<M>(handler_failure_text));
    });
  }

  /// Handles messages with key `key` (replacing any handler there); `inner`
  /// is checked and decrypted after the node's own plugins, and seals answers
  /// before them.
  template <class F>
  requires message_handler<std::decay_t<F>, M, C>
  void on(key_type key, F&& handler, plugin_layer<M> inner = {}) {
    const auto [it, added] =
        handlers_.insert_or_assign(std::move(key), make_entry(std::forward<F>(handler), inner));
    if (added) count(it->first, 1);
  }
  /// Handles the next message with key `key` only (the reference's ephemeral
  /// handler), replacing any one-shot handler there.
  template <class F>
  requires message_handler<std::decay_t<F>, M, C>
  void once(key_type key, F&& handler, plugin_layer<M> inner = {}) {
    const auto [it, added] =
        once_.insert_or_assign(std::move(key), make_entry(std::forward<F>(handler), inner));
    if (added) count(it->first, 1);
  }
  /// on(), under the reference's name (add_handler).
  template <class F>
  requires message_handler<std::decay_t<F>, M, C>
  void add(key_type key, F&& handler, plugin_layer<M> inner = {}) {
    on(std::move(key), std::forward<F>(handler), std::move(inner));
  }
  /// once(), under the reference's name (add_ephemeral_handler).
  template <class F>
  requires message_handler<std::decay_t<F>, M, C>
  void add_once(key_type key, F&& handler, plugin_layer<M> inner = {}) {
    once(std::move(key), std::forward<F>(handler), std::move(inner));
  }

  /// Removes the handler at `key`; false if there was none.
  bool remove(const key_type& key) { return erase_from(handlers_, key); }
  /// Removes the one-shot handler at `key`; false if there was none.
  bool remove_once(const key_type& key) { return erase_from(once_, key); }
  /// Removes every handler and one-shot handler (not the default ones).
  void clear() {
    handlers_.clear();
    once_.clear();
    shapes_ = {};
  }

  bool contains(const key_type& key) const { return handlers_.contains(key); }
  bool contains_once(const key_type& key) const { return once_.contains(key); }
  /// Handlers plus one-shot handlers.
  std::size_t size() const noexcept { return handlers_.size() + once_.size(); }

  /// Answers messages no handler takes (the reference's not-found answer
  /// until replaced). No inner plugins apply to it.
  template <class F>
  requires message_handler<std::decay_t<F>, M, C>
  void set_default_handler(F&& handler) { default_ = make_entry(std::forward<F>(handler), {}); }
  /// Replaces the answer to a failed auth check (sent without plugins).
  void set_auth_error_handler(auth_error_handler h) {
    auth_error_ = std::make_shared<const auth_error_handler>(std::move(h));
  }
  /// Replaces the answer to a handler that threw (sealed as its answer would be).
  void set_failure_handler(failure_handler h) {
    failure_ = std::make_shared<const failure_handler>(std::move(h));
  }

  const Keys& keys() const noexcept { return keys_; }

  /// The keys of `msg` from `from`, most specific first.
  keys_t extract(const M& msg, const std::optional<peer_address>& from) const {
    return keys_.extract(msg, from);
  }
  /// The keys find() needs for `msg`: extract()'s, except that the
  /// reference's policy leaves the address out of the (type, uri, address)
  /// key while no handler is keyed by address (find() skips that shape
  /// then, and the copy of the address is saved).
  keys_t lookup_keys(const M& msg, const std::optional<peer_address>& from) const {
    if constexpr (std::is_same_v<Keys, reference_keys<M>>) {
      if (shapes_[static_cast<std::size_t>(key_shape::type_uri_peer)] == 0)
        return keys_.extract(msg, std::nullopt);
    }
    return keys_.extract(msg, from);
  }
  /// A key as the logs show it.
  std::string describe(const key_type& key) const { return keys_.describe(key); }
  /// A route as the logs show it.
  std::string describe(const route& r) const {
    return r.key ? describe(*r.key) : std::string("default handler");
  }

  /// The handler for the first of `keys` that has one (nullopt: none). Does
  /// not consume a one-shot handler: consume() does, once its inner checks pass.
  std::optional<route> find(const keys_t& keys) const {
    // An empty table is skipped: looking a key up hashes it even there. So
    // is a key of a shape no handler has (most nodes key by (type, uri) only).
    for (const auto& k : keys) {
      if (!may_hold(k)) continue;
      if (!once_.empty()) {
        if (auto it = once_.find(k); it != once_.end()) return route{k, it->second, true};
      }
      if (auto it = handlers_.find(k); it != handlers_.end()) return route{k, it->second, false};
    }
    return std::nullopt;
  }
  /// The default handler's route.
  route default_route() const { return route{std::nullopt, default_, false}; }

  /// Takes a one-shot route's handler out of the table, if it is still the
  /// one there; true if the route may run (always, for other routes). A
  /// one-shot handler found by two messages runs for one of them only.
  bool consume(const route& r) {
    if (!r.once) return true;
    const auto it = once_.find(*r.key);
    if (it == once_.end() || it->second != r.handler) return false;
    once_.erase(it);
    count(*r.key, -1);
    return true;
  }

  /// Calls the route's handler. It may throw; coroutine handlers hand back a
  /// task that may too.
  static handler_call<M> invoke(const route& r, M& msg, C& conn) {
    return r.handler->fn(msg, conn);
  }

  /// The answer to `msg`, which failed `plugin`'s check.
  std::optional<M> auth_error(const M& msg, const any_auth_plugin<M>& plugin) const {
    const auto h = auth_error_;  // survives the handler replacing itself
    return (*h)(msg, plugin);
  }
  /// The answer to `msg`, whose handler threw `error`.
  std::optional<M> failure(const M& msg, std::exception_ptr error) const {
    const auto h = failure_;
    return (*h)(msg, std::move(error));
  }

 private:
  template <class F>
  static std::shared_ptr<const entry> make_entry(F&& handler, plugin_layer<M> inner) {
    constexpr bool suspends = detail::is_task<
        std::remove_cvref_t<detail::handler_result_t<std::decay_t<F>, M, C>>>::value;
    return std::make_shared<const entry>(
        entry{erase_handler<M, C>(std::forward<F>(handler)), std::move(inner), suspends});
  }

  using table = std::unordered_map<key_type, std::shared_ptr<const entry>>;

  // Handlers and one-shot handlers per key shape, for key types that have one.
  static constexpr bool shaped = requires(const key_type& k) {
    { k.shape } -> std::convertible_to<key_shape>;
  };
  void count(const key_type& k, int d) noexcept {
    if constexpr (shaped) shapes_[static_cast<std::size_t>(k.shape)] += static_cast<std::size_t>(d);
  }
  bool erase_from(table& t, const key_type& key) {
    if (t.erase(key) == 0) return false;
    count(key, -1);
    return true;
  }
  bool may_hold(const key_type& k) const noexcept {
    if constexpr (shaped) return shapes_[static_cast<std::size_t>(k.shape)] != 0;
    return true;
  }

  [[no_unique_address]] Keys keys_;
  table handlers_;
  table once_;
  std::array<std::size_t, 3> shapes_{};
  std::shared_ptr<const entry> default_;
  std::shared_ptr<const auth_error_handler> auth_error_;
  std::shared_ptr<const failure_handler> failure_;
};

}  // namespace netaio::inline v0
