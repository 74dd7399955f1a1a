// tcp_client: the reference's TCPClient, with exactly one receive loop per
// connection, started with the connection as a child of the client's scope
// (seed 002). Requests never read: they register what answer they wait for
// with that loop, send, and wait.
//
// Matching answers to requests (the protocol has no request ids): on one
// connection, a success answer goes to the oldest request waiting for that
// answer type at that uri (RESPOND_URI for request(); OK for create, update
// and delete; CONFIRM_SUBSCRIBE / CONFIRM_UNSUBSCRIBE for subscribe and
// unsubscribe). An error answer (NOT_FOUND, ERROR, AUTH_ERROR,
// NOT_PERMITTED) goes to the oldest request at its uri, else to the oldest
// request on the connection (the reference's not-found and invalid-message
// answers do not carry the request's uri). A server that answers each
// connection in order (the default) thus answers every request, several at
// once to one uri included. What matches no request goes to the handlers.
#pragma once

#include <netaio/core/deadline.hpp>
#include <netaio/core/detail/address_checked.hpp>
#include <netaio/core/event.hpp>
#include <netaio/core/task.hpp>
#include <netaio/core/task_handle.hpp>
#include <netaio/core/task_scope.hpp>
#include <netaio/core/with_scope.hpp>
#include <netaio/io/error.hpp>
#include <netaio/io/io_context.hpp>
#include <netaio/io/tcp_stream.hpp>
#include <netaio/node/connection.hpp>
#include <netaio/node/node_peers.hpp>
#include <netaio/node/pipeline.hpp>
#include <netaio/node/router.hpp>
#include <netaio/node/send.hpp>
#include <netaio/node/timeout.hpp>
#include <netaio/wire/helpers.hpp>
#include <netaio/wire/message_type.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

/// A request was answered with AUTH_ERROR: the server refused its auth
/// fields. Thrown at once (the reference's request waits for its timeout).
class authentication_failed : public error {
 public:
  explicit authentication_failed(std::string text)
      : error("netaio: the server refused the request's authentication: " + text),
        text_(std::move(text)) {}
  /// The server's answer text ("HMAC auth failed", ...).
  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
};

/// How a tcp_client connects and waits.
struct tcp_client_options {
  /// The default server.
  endpoint server{ip_address::loopback(), 8888};
  /// Limits of each connection (no idle timeout by default on a client).
  connection_options connection{.idle_timeout = std::chrono::nanoseconds::max()};
  std::chrono::nanoseconds connect_timeout = std::chrono::seconds(10);
  /// A request's default limit (the reference's 10 s).
  std::chrono::nanoseconds request_timeout = std::chrono::seconds(10);
  /// stop()'s default grace period.
  std::chrono::nanoseconds stop_grace = std::chrono::seconds(5);
  /// How long close() waits for a DISCONNECT to go out.
  std::chrono::nanoseconds disconnect_timeout = std::chrono::seconds(1);
  peer_table_options peers{};
};

/// Per-call options of send, request, create, update, delete.
template <message_protocol M>
struct call_options {
  /// The server (the default one when empty). Address-checked, as the
  /// plugins in `inner` are, so that `co_await client.request(uri, {.server =
  /// s})` is safe with g++ 12 (core/detail/address_checked.hpp); read it
  /// with `server.get()`.
  detail::address_checked<std::optional<peer_address>> server{};
  /// The limit (the client's request_timeout when empty).
  std::optional<std::chrono::nanoseconds> timeout{};
  /// This call's own plugins, inner to the client's.
  plugin_layer<M> inner{};
};

/// A TCP client speaking protocol P to one or several servers.
template <protocol_policy P = default_protocol,
          key_policy<typename P::message_t> Keys = reference_keys<typename P::message_t>>
class basic_tcp_client : public basic_node_peers<typename P::message_t> {
  using peers_base = basic_node_peers<typename P::message_t>;

 public:
  using message_t = typename P::message_t;
  using message_type_t = typename message_t::message_type_t;
  using connection_t = basic_tcp_connection<P>;
  using router_t = basic_router<message_t, connection_t, Keys>;
  using key_type = typename router_t::key_type;
  using layer_t = plugin_layer<message_t>;
  using options_t = call_options<message_t>;

  explicit basic_tcp_client(io_context& io, tcp_client_options opts = {})
      : peers_base(io, opts.peers),
        io_(&io),
        opts_(std::move(opts)),
        pipeline_(router_, this->log_),
        scope_(io) {
    // The reference's client has no default handler: what nothing handles
    // is dropped, never answered (a NOT_FOUND back could ping-pong).
    router_.set_default_handler([](message_t&) {});
    scope_.supervise([this](const child_error& e) {
      this->log_.error(std::nullopt, "task '", e.name, "' failed: ", [&] {
        try {
          std::rethrow_exception(e.error);
        } catch (...) {
          return detail::current_exception_text();
        }
      });
    });
    // A task that outlives stop()'s grace period goes to the node's log (at
    // error), by name, with the tree of what it was running.
    scope_.on_stuck([this](std::span<const stuck_task> stuck) {
      for (const stuck_task& t : stuck)
        this->log_.error(std::nullopt, "stop: task '", t.name,
                         "' did not end within the grace period; destroying it");
      this->log_.error(std::nullopt, "stop: tasks still running:\n", scope_.dump());
    });
  }
  basic_tcp_client(const basic_tcp_client&) = delete;
  basic_tcp_client& operator=(const basic_tcp_client&) = delete;
  /// Destroying a client whose tasks still run (receive loops, timeout
  /// handlers, reconnects: neither stopped nor joined to the end) is a
  /// bug: terminates with a message in every build mode.
  ~basic_tcp_client() {
    if (scope_.size() != 0 && !io_->in_teardown()) {
      detail::fatal("netaio: tcp_client destroyed while running; co_await its stop() first");
    }
  }

  // --- handlers, plugins ----------------------------------------------------

  router_t& router() noexcept { return router_; }
  template <class F>
  void on(key_type key, F&& handler, layer_t inner = {}) {
    router_.on(std::move(key), std::forward<F>(handler), std::move(inner));
  }
  template <class F>
  void once(key_type key, F&& handler, layer_t inner = {}) {
    router_.once(std::move(key), std::forward<F>(handler), std::move(inner));
  }
  bool remove_handler(const key_type& key) { return router_.remove(key); }
  /// The client's own (outer) plugins.
  void set_plugins(layer_t outer) { outer_ = std::move(outer); }
  const layer_t& plugins() const noexcept { return outer_; }
  /// Called when a request times out (node/timeout.hpp); a coroutine
  /// handler runs as a child of the client's scope.
  void set_timeout_handler(timeout_handler<basic_tcp_client> h) { on_timeout_ = std::move(h); }

  // --- connections --------------------------------------------------------------

  /// Connects to `to` (the default server when empty) within `timeout`
  /// (the client's connect_timeout when empty), and starts that
  /// connection's receive loop; an open connection to the same server is
  /// closed first. With peer management on, advertises this peer. Throws
  /// io_error (timed_out when the limit ran out).
  task<void> connect(std::optional<endpoint> to = std::nullopt,
                     std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
    if (stop_requested_) throw error("netaio: tcp_client::connect: the client is stopped");
    const endpoint ep = to.value_or(opts_.server);
    const peer_address addr = to_peer_address(ep);
    sweep_retired();
    // A reconnect replaces the old connection. From one of that
    // connection's own handlers, its loop cannot be waited for: it is
    // retired (closed, not cancelled, so this call goes on) and ends by
    // itself once the handler returns.
    if (conns_.contains(addr)) co_await close_connection(addr, false);
    tcp_stream s = co_await tcp_stream::connect(
        *io_, ep, connect_options{.timeout = timeout.value_or(opts_.connect_timeout)});
    // Another connect() to the same server may have finished meanwhile:
    // replace it, never overwrite a state whose loop still runs.
    while (conns_.contains(addr))
      co_await close_connection(addr, false);
    if (stop_requested_) throw error("netaio: tcp_client::connect: the client is stopped");
    auto st = std::make_unique<conn_state>();
    st->conn =
        std::make_unique<connection_t>(std::move(s), opts_.connection, this->log_, ++next_id_);
    st->addr = addr;
    conn_state& ref = *st;
    conns_[addr] = std::move(st);
    ref.loop = scope_.spawn([this, &ref]() { return run_connection(ref); },
                            "receive loop " + to_string(addr));
    this->log_.info(addr, "connected");
    if (this->managing_peers()) (void)send_now(ref, this->advertise_message(), advertise_inner_);
  }
  /// Whether a connection to `server` (the default one) is open.
  bool connected(std::optional<peer_address> server = std::nullopt) const {
    const auto it = conns_.find(server.value_or(default_addr()));
    return it != conns_.end() && it->second->conn->is_open();
  }
  /// Closes the connection to `server` (the default one): a DISCONNECT
  /// first when managing peers (bounded by disconnect_timeout; its failure
  /// still closes), then the socket; its receive loop is joined and every
  /// request waiting on it fails. Local state is always removed.
  ///
  /// Called from inside that connection's own receive loop (one of its
  /// handlers), it cannot wait for that loop: it closes the socket, fails
  /// the waiting requests, cancels the loop (the rest of the handler ends at
  /// its next suspension point) and returns at once, with no DISCONNECT;
  /// the loop ends by itself and the client's scope joins it.
  task<void> close(std::optional<peer_address> server = std::nullopt) {
    sweep_retired();
    co_await close_connection(server.value_or(default_addr()), true);
  }
  /// Closes every connection.
  task<void> close_all() {
    std::vector<peer_address> all;
    for (auto& [a, st] : conns_)
      all.push_back(a);
    for (const auto& a : all)
      co_await close(a);
  }

  // --- sending and requests ------------------------------------------------------

  /// Seals `msg` (call plugins, then the client's) and sends it; false if it
  /// could not be sealed or the connection is closing.
  task<bool> send(message_t msg, options_t o = {}) {
    conn_state& st = state(o.server.get());
    auto sealed = seal(std::move(msg), o.inner, st.addr);
    if (!sealed) co_return false;
    co_return co_await st.conn->send(*sealed);
  }
  // (The calls below hand back exchange()'s task itself: a frame of their
  // own would only pass the answer on.)

  /// REQUEST_URI → RESPOND_URI, NOT_FOUND or ERROR (returned; check its
  /// type, as with the reference). AUTH_ERROR throws authentication_failed;
  /// no answer in time throws timed_out (after calling the timeout handler);
  /// the connection closing throws io_error.
  task<message_t> request(byte_view uri, options_t o = {}, byte_view content = {}) {
    return exchange(message_type_t::request_uri, message_type_t::respond_uri, uri, content,
                    std::move(o));
  }
  /// CREATE_URI → OK, ERROR (or NOT_FOUND), as request().
  task<message_t> create(byte_view uri, byte_view data, options_t o = {}) {
    return exchange(message_type_t::create_uri, message_type_t::ok, uri, data, std::move(o));
  }
  /// UPDATE_URI → OK, NOT_FOUND, ERROR, as request().
  task<message_t> update(byte_view uri, byte_view data, options_t o = {}) {
    return exchange(message_type_t::update_uri, message_type_t::ok, uri, data, std::move(o));
  }
  /// DELETE_URI → OK, NOT_FOUND, ERROR, as request() (the reference's delete).
  task<message_t> del(byte_view uri, options_t o = {}) {
    return exchange(message_type_t::delete_uri, message_type_t::ok, uri, {}, std::move(o));
  }
  /// SUBSCRIBE_URI → CONFIRM_SUBSCRIBE (or an error answer), as request().
  task<message_t> subscribe(byte_view uri, options_t o = {}) {
    return exchange(message_type_t::subscribe_uri, message_type_t::confirm_subscribe, uri, {},
                    std::move(o));
  }
  /// UNSUBSCRIBE_URI → CONFIRM_UNSUBSCRIBE, as request().
  task<message_t> unsubscribe(byte_view uri, options_t o = {}) {
    return exchange(message_type_t::unsubscribe_uri, message_type_t::confirm_unsubscribe, uri, {},
                    std::move(o));
  }
  /// The next message from `server` that answers no request, opened with
  /// the client's and `o.inner` plugins, instead of its handler. Throws
  /// timed_out, or io_error if the connection closes.
  task<message_t> receive_once(options_t o = {}) {
    conn_state& st = state(o.server.get());
    waiter w;
    w.inner = o.inner;
    w.any = true;
    co_return co_await wait_for(st, w, o, nullptr);
  }

  // --- lifetime -----------------------------------------------------------------

  /// Cancels every task of the client (receive loops, writers, timeout
  /// handlers, reconnects, the peer sweeper), closes every socket, fails
  /// waiting requests, forgets every peer, and waits for all of it, at most
  /// `grace`. Idempotent; from inside the client (a handler, a timeout
  /// handler) it only cancels and a stop() from outside completes it.
  task<void> stop(std::optional<std::chrono::nanoseconds> grace = std::nullopt) {
    request_stop();
    co_await scope_.stop(grace.value_or(opts_.stop_grace));
    if (scope_.size() == 0) {
      conns_.clear();
      retired_.clear();
    }
  }
  /// The part of stop() that does not wait (for io.post from another thread).
  void request_stop() noexcept {
    stop_requested_ = true;
    for (auto& [a, st] : conns_)
      st->conn->close("the client is stopping");
    this->clear_peers();
    scope_.cancel();
  }
  task_scope& scope() noexcept { return scope_; }
  const tcp_client_options& options() const noexcept { return opts_; }
  io_context& context() noexcept { return *io_; }

  // --- peers ---------------------------------------------------------------------

  /// The reference's manage_peers_automatically: the three handlers, an
  /// ADVERTISE_PEER to every server connected now and on each connect, and
  /// a DISCONNECT on close().
  void manage_peers_automatically(peer local, std::string_view app_id = "netaio",
                                  layer_t inner = {}) {
    this->enable_peer_management(router_, std::move(local), app_id, inner,
                                 [](connection_t& c) { return std::optional(c.peer()); });
    advertise_inner_ = inner;
    this->start_peer_tasks(scope_);
    for (auto& [a, st] : conns_)
      (void)send_now(*st, this->advertise_message(), inner);
  }
  void stop_peer_management() { this->disable_peer_management(router_); }

 private:
  struct waiter;
  // The requests waiting on a connection, oldest first: linked through the
  // waiters themselves (each lives in its request's frame), so a request
  // costs no list node and leaves in constant time.
  class waiter_list {
   public:
    struct iterator {
      waiter* w;
      waiter* operator*() const noexcept { return w; }
      iterator& operator++() noexcept {
        w = w->next;
        return *this;
      }
      bool operator==(const iterator&) const = default;
    };
    iterator begin() const noexcept { return {head_}; }
    iterator end() const noexcept { return {nullptr}; }
    bool empty() const noexcept { return head_ == nullptr; }
    waiter* front() const noexcept { return head_; }
    void push_back(waiter* w) noexcept {
      w->prev = tail_;
      w->next = nullptr;
      (tail_ != nullptr ? tail_->next : head_) = w;
      tail_ = w;
      w->linked = true;
    }
    /// Takes `w` out, if it is in.
    void remove(waiter* w) noexcept {
      if (!w->linked) return;
      (w->prev != nullptr ? w->prev->next : head_) = w->next;
      (w->next != nullptr ? w->next->prev : tail_) = w->prev;
      w->prev = w->next = nullptr;
      w->linked = false;
    }

   private:
    waiter* head_ = nullptr;
    waiter* tail_ = nullptr;
  };

  // What a request (or receive_once) waits for.
  struct waiter {
    message_type_t request{};  // what was sent
    message_type_t success{};
    byte_buffer uri;
    layer_t inner;
    bool any = false;  // receive_once: the next unmatched message
    std::optional<message_t> answer;
    std::exception_ptr error;
    async_event done;
    waiter* prev = nullptr;  // in its connection's waiter_list
    waiter* next = nullptr;
    bool linked = false;
  };
  struct conn_state {
    std::unique_ptr<connection_t> conn;
    peer_address addr;
    task_handle loop;
    waiter_list waiting;  // requests, oldest first
    waiter_list any;      // receive_once calls, oldest first
  };

  // close(): the part after choosing the connection. `cancel_inside`: a
  // call from inside the connection's own loop cancels it (close()), or only
  // retires it (connect(), which goes on in that same task).
  task<void> close_connection(peer_address addr, bool cancel_inside) {
    task_context& caller = co_await this_context();
    auto it = conns_.find(addr);
    if (it == conns_.end()) co_return;
    conn_state& st = *it->second;
    if (st.loop.encloses(caller)) {
      retire(it, cancel_inside);
      co_return;
    }
    if (this->managing_peers() && st.conn->is_open()) {
      try {
        if (send_now(st, this->disconnect_message(), advertise_inner_)) {
          st.conn->finish();  // the writer sends the DISCONNECT, then ends
          co_await move_on_after(opts_.disconnect_timeout, st.loop.join());
        }
      } catch (const operation_cancelled&) {
        throw;
      } catch (...) {
        this->log_.warning(addr, "could not send DISCONNECT: ", detail::current_exception_text());
      }
    }
    st.conn->close("closed by the client");
    co_await st.loop.join();
    // Re-found: the map may have changed while waiting, and a connect()
    // meanwhile may have put a new connection there, which stays.
    it = conns_.find(addr);
    if (it != conns_.end() && it->second.get() == &st) conns_.erase(it);
  }

  // Takes a connection whose loop runs the caller out of conns_ without
  // waiting for it: closed, its requests failed, kept alive in retired_
  // until its loop (which references it) has ended.
  void retire(typename std::map<peer_address, std::unique_ptr<conn_state>>::iterator it,
              bool cancel) {
    conn_state& st = *it->second;
    this->log_.debug(st.addr,
                     "closed from one of its own handlers; its receive loop ends by itself");
    st.conn->close("closed by the client");
    fail_all(st);
    if (cancel) st.loop.cancel();
    retired_.push_back(std::move(it->second));
    conns_.erase(it);
  }
  // Forgets retired connections whose loop has ended.
  void sweep_retired() noexcept {
    std::erase_if(retired_, [](const std::unique_ptr<conn_state>& st) { return st->loop.done(); });
  }

  // Formatted once: every call without a server names the default one.
  const peer_address& default_addr() const { return default_addr_; }

  conn_state& state(const std::optional<peer_address>& server) {
    const peer_address& addr = server ? *server : default_addr();
    const auto it = conns_.find(addr);
    if (it == conns_.end() || !it->second->conn->is_open())
      throw io_error(io_errc::closed, "netaio: tcp_client: not connected to " + to_string(addr));
    return *it->second;
  }

  std::optional<message_t> seal(message_t&& msg, const layer_t& inner, const peer_address& to) {
    return prepare_message(std::move(msg), inner, outer_, this->context_for(to), this->log_, to);
  }
  bool send_now(conn_state& st, message_t msg, const layer_t& inner) {
    auto sealed = seal(std::move(msg), inner, st.addr);
    return sealed && st.conn->try_send(*sealed);
  }

  task<message_t> exchange(message_type_t type, message_type_t success, byte_view uri,
                           byte_view content, options_t o) {
    conn_state& st = state(o.server.get());
    waiter w;
    w.request = type;
    w.success = success;
    w.uri = to_buffer(uri);
    w.inner = o.inner;
    auto sealed =
        seal(message_t::prepare(message_t::body_t::prepare(content, uri), type), o.inner, st.addr);
    if (!sealed) throw error("netaio: tcp_client: the request could not be sealed (see the log)");
    co_return co_await wait_for(st, w, o, &*sealed);
  }

  // Registers `w` with the connection's receive loop, sends `*out` (if not
  // null: the caller's, alive while this runs), and waits for the loop to
  // hand `w` its answer.
  task<message_t> wait_for(conn_state& st, waiter& w, const options_t& o, const message_t* out) {
    waiter_list& list = w.any ? st.any : st.waiting;
    list.push_back(&w);
    struct unregister {
      waiter_list* l;
      waiter* w;
      ~unregister() { l->remove(w); }
    } guard{&list, &w};
    const peer_address addr = st.addr;
    if (out && !co_await st.conn->send(*out))
      throw io_error(io_errc::closed,
                     "netaio: tcp_client: the connection to " + to_string(addr) + " is closing");
    const auto limit = o.timeout.value_or(opts_.request_timeout);
    const bool got = co_await move_on_after(limit, w.done.wait());
    if (!got) {
      timed_out err("netaio: request for uri " + as_text_copy(w.uri) + " timed out");
      if (on_timeout_) {
        timeout_context ctx{w.uri, limit, addr, answer_keys(w, addr)};
        on_timeout_.invoke(scope_, this->log_, *this, timeout_kind::request, addr, err, ctx);
      }
      throw err;
    }
    if (w.error) std::rethrow_exception(w.error);
    co_return std::move(*w.answer);
  }

  // The reference's TimeoutContext keys: the answers the request waited
  // for, as (type, uri, server) handler keys, in the reference's order.
  static std::vector<std::string> answer_keys(const waiter& w, const peer_address& addr) {
    if (w.any) return {};
    using key_t = basic_handler_key<message_type_t>;
    const reference_keys<message_t> describe;
    std::vector<std::string> keys;
    const auto add = [&](message_type_t t) {
      keys.push_back(describe.describe(key_t::of(
          t, std::string_view(reinterpret_cast<const char*>(w.uri.data()), w.uri.size()), addr)));
    };
    add(message_type_t::auth_error);
    add(message_type_t::error);
    add(w.success);
    if (w.request != message_type_t::create_uri) add(message_type_t::not_found);
    return keys;
  }

  static std::string as_text_copy(const byte_buffer& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }

  static bool is_error_type(message_type_t t) {
    return t == message_type_t::not_found || t == message_type_t::error ||
           t == message_type_t::auth_error || t == message_type_t::not_permitted;
  }

  // The waiter `msg` (of type `t`, at `uri`) answers, or null.
  static waiter* match(conn_state& st, message_type_t t, byte_view uri) {
    const auto same_uri = [&](const waiter* w) {
      return std::equal(w->uri.begin(), w->uri.end(), uri.begin(), uri.end());
    };
    const bool err = is_error_type(t);
    for (waiter* w : st.waiting)
      if ((err || w->success == t) && same_uri(w)) return w;
    if (err && !st.waiting.empty()) return st.waiting.front();
    return nullptr;
  }

  static void deliver(conn_state& st, waiter* w, std::optional<message_t> m, std::exception_ptr e) {
    (w->any ? st.any : st.waiting).remove(w);
    w->answer = std::move(m);
    w->error = std::move(e);
    w->done.set();
  }

  static void deliver_answer(conn_state& st, waiter* w, message_type_t t, message_t m) {
    if (t == message_type_t::auth_error && !w->any) {
      deliver(st, w, std::nullopt,
              std::make_exception_ptr(
                  authentication_failed(std::string(detail::as_text(m.body().content())))));
    } else {
      deliver(st, w, std::move(m), nullptr);
    }
  }
  // (A plugin that throws counts as a refusal, here as in the search.)
  static bool try_check(const message_t& m, const layer_t& inner, const plugin_context& ctx) {
    try {
      return !inner.auth || inner.auth.check(m.auth_data(), m.body(), ctx);
    } catch (...) {
      return false;
    }
  }
  static std::optional<message_t> try_decrypt(const message_t& m, const layer_t& inner,
                                              const plugin_context& ctx) {
    try {
      return inner.cipher.decrypt(m, ctx);
    } catch (...) {
      return std::nullopt;
    }
  }

  // Wakes every waiter of a connection that has ended (or been closed).
  static void fail_all(conn_state& st) {
    if (st.waiting.empty() && st.any.empty()) return;
    auto e = std::make_exception_ptr(
        io_error(io_errc::closed, "netaio: the connection to " + to_string(st.addr) + " closed"));
    while (!st.waiting.empty())
      deliver(st, st.waiting.front(), std::nullopt, e);
    while (!st.any.empty())
      deliver(st, st.any.front(), std::nullopt, e);
  }
  // On every way out of run_connection (a cancellation too): the
  // connection is closed, since its scope is gone and nothing may queue to
  // it, and the requests waiting on it fail.
  struct end_connection {
    conn_state* st;
    ~end_connection() {
      st->conn->close("the receive loop ended");
      fail_all(*st);
    }
  };

  task<void> run_connection(conn_state& st) {
    end_connection guard{&st};
    co_await with_scope([this, &st](task_scope& cs) -> task<void> {
      st.conn->write_in(cs);  // a writer runs there only for what a flush left
      co_await receive_loop(st);
      st.conn->finish();
    });
  }

  // The connection's one receive loop.
  task<void> receive_loop(conn_state& st) {
    connection_t& c = *st.conn;
    auto& fs = detail::connection_access::framed(c);
    for (;;) {
      typename basic_framed_stream<P>::read_result r;
      try {
        r = co_await fs.read_frame();
      } catch (const io_error& e) {
        if (c.is_open()) this->log_.info(st.addr, "connection lost: ", std::string_view(e.what()));
        co_return;
      }
      if (r.status == frame_read_status::closed) co_return;  // by this side
      if (r.status == frame_read_status::end_of_stream ||
          r.status == frame_read_status::truncated) {
        this->log_.info(st.addr, "the server closed the connection");
        co_return;
      }
      if (r.status == frame_read_status::malformed) {
        this->log_.warning(st.addr, "invalid frame: ", r.what);
        if (r.skipped()) continue;
        co_return;
      }
      message_t m;
      try {
        m = r.to_message();
      } catch (const std::exception& e) {
        this->log_.warning(st.addr, "invalid frame: ", std::string_view(e.what()));
        continue;
      }
      this->touch_peer(st.addr);
      // An answer goes to its request here, in this frame; only a message
      // no request waits for needs a task of its own (the handlers'). The
      // layer that opened it seals what they answer, even if the plugins are
      // replaced meanwhile: a plugin that opens it may replace them.
      layer_t outer = outer_;
      std::optional<plugin_context> ctx;
      if (answer_waiter(st, m, outer, ctx)) continue;
      if (!ctx) ctx = this->context_for(st.addr);
      co_await to_handlers(st, std::move(m), std::move(outer), std::move(*ctx));
    }
  }

  /// Hands `m` to the request waiting for it, checked and opened with the
  /// layers first. True when `m` is dealt with: delivered, or dropped with
  /// a log line. False when no request waits for it: `m` is then opened
  /// with the client's layer, for the handlers. `context` is the peer's
  /// plugin context, made here if a plugin needs it (a plain answer does not).
  /// `outer` is the caller's copy of the client's layer (a plugin's call may
  /// replace the client's).
  bool answer_waiter(conn_state& st, message_t& m, const layer_t& outer,
                     std::optional<plugin_context>& context) {
    const auto ctx = [&]() -> const plugin_context& {
      if (!context) context = this->context_for(st.addr);
      return *context;
    };
    const message_type_t t = m.type();
    if (outer.auth && !outer.auth.check(m.auth_data(), m.body(), ctx())) {
      // An unsealed AUTH_ERROR answers a request whose seal the server
      // refused: report it to that request now rather than let it time out.
      if (t == message_type_t::auth_error) {
        if (waiter* w = match(st, t, m.body().uri())) {
          deliver(st, w, std::nullopt,
                  std::make_exception_ptr(
                      authentication_failed(std::string(detail::as_text(m.body().content())))));
          return true;
        }
      }
      this->log_.warning(st.addr, "auth check failed (client plugin) for a ",
                         std::string(to_string(t)), " message; dropped");
      return true;
    }
    if (outer.cipher) {
      try {
        m = outer.cipher.decrypt(m, ctx());
      } catch (...) {
        this->log_.warning(st.addr,
                           "could not decrypt (client plugin): ", detail::current_exception_text(),
                           "; dropped");
        return true;
      }
    }
    waiter* w = match(st, t, m.body().uri());
    if (!w) {
      // A call's own cipher may hide the uri: decrypt with each such
      // waiter's layer, oldest first, and match what comes out. The seal is
      // checked only for the waiter matched: checked first, a replay-guarded
      // nonce would be spent on a call the answer is not for, and the call
      // it is for would refuse it as a replay.
      for (waiter* c : st.waiting) {
        if (!c->inner.cipher) continue;
        auto opened = try_decrypt(m, c->inner, ctx());
        if (opened && (is_error_type(t) || c->success == t) &&
            std::ranges::equal(c->uri, opened->body().uri()) && try_check(m, c->inner, ctx())) {
          deliver_answer(st, c, t, std::move(*opened));
          return true;
        }
      }
    }
    if (!w && !st.any.empty()) w = st.any.front();
    if (w) {
      if (w->inner.auth && !w->inner.auth.check(m.auth_data(), m.body(), ctx())) {
        if (t == message_type_t::auth_error) {
          deliver(st, w, std::nullopt,
                  std::make_exception_ptr(
                      authentication_failed(std::string(detail::as_text(m.body().content())))));
        } else {
          this->log_.warning(st.addr, "auth check failed (call plugin) for a ",
                             std::string(to_string(t)), " answer; dropped");
        }
        return true;
      }
      if (w->inner.cipher) {
        try {
          m = w->inner.cipher.decrypt(m, ctx());
        } catch (...) {
          this->log_.warning(st.addr, "could not decrypt an answer (call plugin): ",
                             detail::current_exception_text(), "; dropped");
          return true;
        }
      }
      deliver_answer(st, w, t, std::move(m));
      return true;
    }
    return false;
  }

  /// `m`, which no request waits for, through the handlers (the pipeline has
  /// no outer layer here: `outer` opened `m` and seals the answer).
  task<void> to_handlers(conn_state& st, message_t m, layer_t outer, plugin_context ctx) {
    auto out = co_await pipeline_.receive(std::move(m), *st.conn, st.addr, ctx);
    if (!out.reply) co_return;
    if (out.status == receive_status::handled || out.status == receive_status::not_found ||
        out.status == receive_status::handler_failed) {
      out.reply = prepare_message(std::move(*out.reply), {}, outer, ctx, this->log_, st.addr);
      if (!out.reply) co_return;
    }
    co_await st.conn->send(*out.reply);
  }

  io_context* io_;
  tcp_client_options opts_;
  peer_address default_addr_ = to_peer_address(opts_.server);
  router_t router_;
  basic_pipeline<router_t> pipeline_;
  layer_t outer_;
  layer_t advertise_inner_;
  timeout_handler<basic_tcp_client> on_timeout_;
  std::map<peer_address, std::unique_ptr<conn_state>> conns_;
  // Connections closed from inside their own loop, until that loop ends.
  std::list<std::unique_ptr<conn_state>> retired_;
  std::uint64_t next_id_ = 0;
  bool stop_requested_ = false;
  task_scope scope_;  // last: destroyed first, while everything its tasks use is alive
};

/// The default protocol's client.
using tcp_client = basic_tcp_client<>;

}  // namespace netaio::inline v0
