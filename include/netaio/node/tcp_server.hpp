// tcp_server: the reference's TCPServer. Every task it runs (the accept
// loop, one receive loop and one writer per connection, concurrent handlers,
// the peer sweeper) is a child of its task_scope or of a connection's block
// scope inside it, so stop() cancels and joins all of them and closes every
// socket. Connections are supervised: one failing never disturbs another.
#pragma once

#include <netaio/core/deadline.hpp>
#include <netaio/core/event.hpp>
#include <netaio/core/queue.hpp>
#include <netaio/core/sleep.hpp>
#include <netaio/core/task.hpp>
#include <netaio/core/task_scope.hpp>
#include <netaio/core/with_scope.hpp>
#include <netaio/io/error.hpp>
#include <netaio/io/io_context.hpp>
#include <netaio/io/tcp_listener.hpp>
#include <netaio/node/connection.hpp>
#include <netaio/node/log.hpp>
#include <netaio/node/node_peers.hpp>
#include <netaio/node/pipeline.hpp>
#include <netaio/node/router.hpp>
#include <netaio/node/send.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

/// How a tcp_server listens and what it tolerates.
struct tcp_server_options {
  /// Where to listen: "127.0.0.1:8888", "[::1]:0" (port 0: the kernel picks;
  /// see local_endpoint()).
  endpoint at{ip_address::loopback(), 8888};
  listen_options listen{};
  /// Limits of each connection (frame size, idle timeout, send queue).
  connection_options connection{};
  /// Connections beyond this many are closed as soon as accepted (logged).
  std::size_t max_connections = 4096;
  /// Handlers run per connection at once: 1 (the default, the reference's
  /// behaviour) handles a connection's messages one after another, in
  /// order; N > 1 runs up to N as children of that connection's scope, and
  /// their answers go out in the order they finish.
  std::size_t max_concurrent_handlers = 1;
  /// stop()'s default grace period.
  std::chrono::nanoseconds stop_grace = std::chrono::seconds(5);
  /// Peer expiry (the reference's peer timeout, plus the grace period before
  /// a lost peer is removed).
  peer_table_options peers{};
  /// What an undecodable frame is answered with (see pipeline.hpp).
  invalid_frame_policy invalid = invalid_frame_policy::answer_sealed;
};

/// A TCP server speaking protocol P, handlers keyed by Keys.
template <protocol_policy P = default_protocol,
          key_policy<typename P::message_t> Keys = reference_keys<typename P::message_t>>
class basic_tcp_server : public basic_node_peers<typename P::message_t> {
  using peers_base = basic_node_peers<typename P::message_t>;

 public:
  using message_t = typename P::message_t;
  using connection_t = basic_tcp_connection<P>;
  using router_t = basic_router<message_t, connection_t, Keys>;
  using key_type = typename router_t::key_type;
  using layer_t = plugin_layer<message_t>;
  using outcome_t = receive_outcome<message_t>;

  /// A server on `io`; nothing happens until start() or run().
  explicit basic_tcp_server(io_context& io, tcp_server_options opts = {})
      : peers_base(io, opts.peers),
        io_(&io),
        opts_(std::move(opts)),
        pipeline_(router_, this->log_, pipeline_options<message_t>{.invalid = opts_.invalid}),
        scope_(io) {
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
  basic_tcp_server(const basic_tcp_server&) = delete;
  basic_tcp_server& operator=(const basic_tcp_server&) = delete;
  /// Destroying a server whose tasks still run (started, and neither
  /// stopped nor joined to the end: a run() or wait() that was cancelled
  /// has joined them) is a bug: terminates with a message in every build
  /// mode. (While a stop's grace period destroys the frame that owns the
  /// server, its tasks are destroyed with it, as a scope's are.)
  ~basic_tcp_server() {
    if (scope_.size() != 0 && !io_->in_teardown()) {
      detail::fatal(
          "netaio: tcp_server destroyed while running; co_await its stop() (or the end of its "
          "run()) first");
    }
  }

  // --- handlers -----------------------------------------------------------

  /// The handler registry (on, once, remove, default and auth-error handlers).
  router_t& router() noexcept { return router_; }
  /// Handles messages with `key`; `inner` are this handler's own plugins.
  template <class F>
  void on(key_type key, F&& handler, layer_t inner = {}) {
    router_.on(std::move(key), std::forward<F>(handler), std::move(inner));
  }
  /// Handles the next message with `key` only.
  template <class F>
  void once(key_type key, F&& handler, layer_t inner = {}) {
    router_.once(std::move(key), std::forward<F>(handler), std::move(inner));
  }
  /// The reference's names.
  template <class F>
  void add_handler(key_type key, F&& handler, layer_t inner = {}) {
    on(std::move(key), std::forward<F>(handler), std::move(inner));
  }
  template <class F>
  void add_ephemeral_handler(key_type key, F&& handler, layer_t inner = {}) {
    once(std::move(key), std::forward<F>(handler), std::move(inner));
  }
  bool remove_handler(const key_type& key) { return router_.remove(key); }
  bool remove_ephemeral_handler(const key_type& key) { return router_.remove_once(key); }

  // --- plugins and logging -------------------------------------------------

  /// The node's own (outer) plugins, applied to everything it receives and
  /// sends; a handler's plugins are inner to them.
  void set_plugins(layer_t outer) { pipeline_.options().outer = std::move(outer); }
  const layer_t& plugins() const noexcept { return pipeline_.options().outer; }
  basic_pipeline<router_t>& pipeline() noexcept { return pipeline_; }

  // --- lifetime ------------------------------------------------------------

  /// Binds, listens and starts accepting; returns once the server listens,
  /// with the bound address (the actual port when bound to port 0). Throws
  /// io_error if it cannot bind.
  task<endpoint> start() {
    if (started_) throw error("netaio: tcp_server::start: already started");
    listener_ = tcp_listener::bind(*io_, opts_.at, opts_.listen);
    started_ = true;
    this->log_.info(std::nullopt, "server listening on ", listener_.local_endpoint().to_string());
    scope_.spawn([this]() { return accept_loop(); }, "accept loop");
    this->start_peer_tasks(scope_);
    co_return listener_.local_endpoint();
  }
  /// start() unless started, then waits until the server has stopped (by
  /// stop() from anywhere, a handler included) and all its tasks ended.
  task<void> run() {
    if (!started_) co_await start();
    co_await scope_.join();
  }
  /// Waits until every task of the server has ended (after a stop).
  task<void> wait() { co_await scope_.join(); }

  /// Stops accepting, cancels every task (receive loops, handlers, peer
  /// tasks), closes every socket, forgets every peer, and waits for all of
  /// it, at most `grace` (then the tasks left are reported by name and
  /// destroyed). Idempotent. Called from inside the server (a handler) it
  /// only cancels: run() or a stop() from outside completes the wait.
  task<void> stop(std::optional<std::chrono::nanoseconds> grace = std::nullopt) {
    const auto limit = grace.value_or(opts_.stop_grace);
    // On the loop's clock, as every wait of the stop: the whole stop stays
    // within `limit` (plus a turn), on a virtual clock too.
    const auto deadline = detail::saturating_add(io_->now(), limit);
    // With no handler running, every connection task waits on its socket or
    // its queue: closed, they end by themselves, without the cost of
    // unwinding each one's cancellation through its frames (the larger part
    // of stopping many connections, besides close() itself). Bounded by the
    // grace period; whatever is left is then cancelled.
    const bool drain = !stop_requested_ && handlers_running_ == 0 && !conns_.empty();
    close_everything();
    if (drain) {
      conns_gone_.reset();
      if (!conns_.empty()) (void)co_await move_on_after(limit, conns_gone_.wait());
      scope_.cancel();
      const auto now = io_->now();
      co_await scope_.stop(now < deadline ? deadline - now : std::chrono::nanoseconds(0));
      co_return;
    }
    scope_.cancel();
    co_await scope_.stop(limit);
  }
  /// The part of stop() that does not wait: for another thread, through
  /// `io.post([&] { server.request_stop(); })`.
  void request_stop() noexcept {
    close_everything();
    scope_.cancel();
  }

  bool started() const noexcept { return started_; }
  /// The bound address (valid after start()).
  const endpoint& local_endpoint() const noexcept { return listener_.local_endpoint(); }
  std::uint16_t port() const noexcept { return listener_.local_endpoint().port(); }
  /// The server's scope (its tasks, for dump()).
  task_scope& scope() noexcept { return scope_; }
  const tcp_server_options& options() const noexcept { return opts_; }

  // --- connections, subscriptions, sending --------------------------------

  /// Connections open now.
  std::size_t connection_count() const noexcept { return conns_.size(); }
  /// The connection with `id`, or null if it has gone.
  connection_t* connection(std::uint64_t id) const {
    const auto it = conns_.find(id);
    return it == conns_.end() ? nullptr : it->second;
  }

  /// Subscribes `c` to `uri` (notify() reaches it); a closed connection is
  /// unsubscribed from everything.
  void subscribe(byte_view uri, const connection_t& c) { subs_[to_buffer(uri)].insert(c.id()); }
  void unsubscribe(byte_view uri, const connection_t& c) {
    const auto it = subs_.find(to_buffer(uri));
    if (it == subs_.end()) return;
    it->second.erase(c.id());
    if (it->second.empty()) subs_.erase(it);
  }
  /// Connections subscribed to `uri`.
  std::size_t subscriber_count(byte_view uri) const {
    const auto it = subs_.find(to_buffer(uri));
    return it == subs_.end() ? 0 : it->second.size();
  }

  /// Seals `msg` (inner, then the node's plugins) and queues it to `c`
  /// without waiting; false if it could not be sealed or `c` is closing (or
  /// its queue stayed full: then `c` is dropped).
  bool send(connection_t& c, message_t msg, const layer_t& inner = {}) {
    auto sealed = prepare_message(std::move(msg), inner, plugins(), this->context_for(c.peer()),
                                  this->log_, c.peer());
    return sealed && c.try_send(*sealed);
  }
  /// Queues `msg` to every subscriber of `uri`, sealed once (or once per
  /// peer with peer-specific plugins). Never waits: a subscriber whose send
  /// queue is full is dropped, the others are not held up. Returns how many
  /// it was queued to.
  std::size_t notify(byte_view uri, const message_t& msg, const layer_t& inner = {}) {
    const auto it = subs_.find(to_buffer(uri));
    if (it == subs_.end()) return 0;
    std::vector<connection_t*> to;
    for (const std::uint64_t id : it->second)
      if (connection_t* c = connection(id)) to.push_back(c);
    return send_all(to, msg, inner);
  }
  /// Queues `msg` to every connection, as notify() does.
  std::size_t broadcast(const message_t& msg, const layer_t& inner = {}) {
    std::vector<connection_t*> to;
    to.reserve(conns_.size());
    for (auto& [id, c] : conns_)
      to.push_back(c);
    return send_all(to, msg, inner);
  }

  // --- peers ------------------------------------------------------------------

  /// The reference's manage_peers_automatically: the ADVERTISE_PEER,
  /// PEER_DISCOVERED and DISCONNECT handlers at `app_id` (with `inner`
  /// plugins), and an ADVERTISE_PEER to every connected client. A client
  /// whose connection drops without DISCONNECT is removed after the grace.
  void manage_peers_automatically(peer local, std::string_view app_id = "netaio",
                                  layer_t inner = {}) {
    this->enable_peer_management(router_, std::move(local), app_id, inner,
                                 [](connection_t& c) { return std::optional(c.peer()); });
    if (started_) this->start_peer_tasks(scope_);
    broadcast(this->advertise_message(), inner);
  }
  /// Stops automatic peer management (removes the three handlers).
  void stop_peer_management() { this->disable_peer_management(router_); }

 private:
  // Stops accepting, closes every connection, forgets every peer.
  void close_everything() noexcept {
    stop_requested_ = true;
    listener_.close();
    for (auto& [id, c] : conns_)
      c->close("the server is stopping");
    this->clear_peers();
  }

  std::size_t send_all(const std::vector<connection_t*>& to, const message_t& msg,
                       const layer_t& inner) {
    std::size_t n = 0;
    if (is_peer_specific(inner) || is_peer_specific(plugins())) {
      for (connection_t* c : to)
        if (c->is_open() && send(*c, msg, inner)) ++n;
      return n;
    }
    auto sealed =
        prepare_message(msg, inner, plugins(), this->context_for(std::nullopt), this->log_);
    if (!sealed) return 0;
    byte_buffer frame;
    sealed->encode_to(frame);
    for (connection_t* c : to)
      if (c->is_open() && c->try_send_encoded(frame)) ++n;
    return n;
  }

  task<void> accept_loop() {
    for (;;) {
      tcp_stream s;
      bool failed = false;
      try {
        s = co_await listener_.accept();
      } catch (const io_error& e) {
        if (!listener_.is_open() || e.errc() == io_errc::closed) co_return;
        this->log_.error(std::nullopt, "accept failed: ", std::string_view(e.what()));
        failed = true;
      }
      if (failed) {
        // Out of descriptors, say: let connections end before trying again.
        co_await sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      const peer_address from = to_peer_address(s.remote_endpoint());
      if (conns_.size() >= opts_.max_connections) {
        this->log_.warning(from, "refusing a connection: ", opts_.max_connections,
                           " connections open (max_connections)");
        continue;  // `s` closes here
      }
      // The member coroutine keeps `s` in its own frame: no wrapper frame.
      scope_.spawn(serve(std::move(s)), "connection " + to_string(from));
    }
  }

  // Registers a connection for broadcast/notify while its loop runs; its
  // destructor (which runs even when a stop destroys the frame) forgets it
  // everywhere, so no table ever points at a dead connection.
  struct registration {
    basic_tcp_server* self;
    connection_t* c;
    registration(basic_tcp_server& s, connection_t& conn) : self(&s), c(&conn) {
      self->conns_.emplace(c->id(), c);
    }
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;
    ~registration() {
      self->conns_.erase(c->id());
      for (auto it = self->subs_.begin(); it != self->subs_.end();) {
        it->second.erase(c->id());
        it = it->second.empty() ? self->subs_.erase(it) : std::next(it);
      }
      self->connection_lost(c->peer());
      if (self->conns_.empty()) self->conns_gone_.set();
    }
  };

  // One connection: its receive loop, and a scope for its writer and its
  // concurrent handlers. The scope and the loop live in this one frame
  // (what with_scope does, without the block's frame and the loop's: most
  // of an idle connection's memory). What a frame leads to runs in
  // on_frame's own frame, allocated while it runs (a coroutine frame keeps
  // every local of its body, whichever branch uses it).
  task<void> serve(tcp_stream s) {
    connection_t c(std::move(s), opts_.connection, this->log_, ++next_id_);
    registration reg(*this, c);
    this->log_.info(c.peer(), "client connected");
    std::unique_ptr<async_queue<char>> slots;  // outlives the handlers it counts
    if (opts_.max_concurrent_handlers > 1)
      slots = std::make_unique<async_queue<char>>(opts_.max_concurrent_handlers);
    task_scope cs{co_await this_context()};
    c.write_in(cs);  // its writer runs there while frames are queued
    std::exception_ptr failure;
    bool cancelled = false;
    try {
      struct finish_at_end {  // the writer sends what is queued (an answer), then ends
        connection_t& conn;
        ~finish_at_end() { conn.finish(); }
      } finishing{c};
      auto& fs = detail::connection_access::framed(c);
      const auto idle = opts_.connection.idle_timeout;
      std::optional<idle_watch> watch;
      if (idle != std::chrono::nanoseconds::max()) watch.emplace(*this, c, idle);
      for (;;) {
        const typename basic_framed_stream<P>::read_result* r = nullptr;  // (the stream's)
        try {
          if (watch) watch->start_read();
          r = &co_await fs.read_frame();
          if (watch) watch->reading = false;
        } catch (const io_error& e) {
          if (c.is_open())
            this->log_.info(c.peer(), "connection lost: ", std::string_view(e.what()));
          break;
        }
        if (!co_await on_frame(*r, c, cs, slots.get())) break;
      }
    } catch (...) {
      cancelled = detail::current_exception_is_cancellation();
      if (!cancelled) failure = std::current_exception();
      cs.cancel();
    }
    try {
      co_await cs.join();
    } catch (...) {
      cancelled = cancelled || detail::current_exception_is_cancellation();
    }
    // A cancelled connection (a stop) just ends: the server's scope knows
    // why, and a second throw per connection is a tenth of a stop's time.
    detail::end_block_scope(cs, std::move(failure), false);
    if (!cancelled) this->log_.info(c.peer(), "connection closed");
  }

  // The idle timeout of one receive loop, in its frame: a read that has
  // waited the whole period closes the connection. Its timer is armed once
  // per period, not once per read (a read only notes when it started), and
  // a read needs no deadline wrapper (a task frame per read).
  struct idle_watch : detail::timer_node {
    basic_tcp_server* self;
    connection_t* c;
    std::chrono::nanoseconds limit;
    detail::loop_time since{};
    bool reading = false;
    idle_watch(basic_tcp_server& s, connection_t& conn, std::chrono::nanoseconds idle) noexcept
        : self(&s), c(&conn), limit(idle) {
      fire = &on_fire;
    }
    idle_watch(const idle_watch&) = delete;
    idle_watch& operator=(const idle_watch&) = delete;
    ~idle_watch() { self->io_->timers().erase(this); }

    void start_read() {
      since = self->io_->now();
      reading = true;
      if (armed()) return;  // it fires no later than this read's deadline, and checks
      deadline = detail::saturating_add(since, limit);
      self->io_->timers().push(this);
    }
    static void on_fire(detail::timer_node* n) noexcept {
      auto* w = static_cast<idle_watch*>(n);
      if (!w->reading) return;  // the next read arms it again
      const auto due = detail::saturating_add(w->since, w->limit);
      if (due > w->self->io_->now()) {  // a later read: its own deadline
        w->deadline = due;
        w->self->io_->timers().push(w);  // cannot grow the heap: it just left it
        return;
      }
      try {
        w->self->log_.info(w->c->peer(), "idle timeout: nothing received for ",
                           std::chrono::duration_cast<std::chrono::seconds>(w->limit).count(), "s");
      } catch (...) {
      }
      w->c->close("idle timeout");  // the read ends (closed)
    }
  };

  // What a read gave: handled (true: read on) or the end of the connection.
  task<bool> on_frame(const typename basic_framed_stream<P>::read_result& r, connection_t& c,
                      task_scope& cs, async_queue<char>* slots) {
    switch (r.status) {
      case frame_read_status::closed:  // by this side: its reason was logged then
        co_return false;
      case frame_read_status::end_of_stream:
        this->log_.info(c.peer(), "client disconnected");
        co_return false;
      case frame_read_status::truncated:
        this->log_.warning(c.peer(), "connection closed in the middle of a frame (", r.size,
                           " bytes received)");
        co_return false;
      case frame_read_status::malformed: {
        auto out = pipeline_.reject(r.what, c.peer(), this->context_for(c.peer()));
        if (out.reply) co_await c.send(*out.reply);
        if (r.skipped()) co_return true;
        this->log_.warning(c.peer(), "closing the connection: its framing is lost (", r.what, ")");
        co_return false;
      }
      case frame_read_status::frame:
        break;
    }
    message_t m;
    std::optional<outcome_t> bad;
    try {
      m = r.to_message();
    } catch (const std::exception& e) {
      bad = pipeline_.reject(e.what(), c.peer(), this->context_for(c.peer()));
    }
    if (bad) {
      if (bad->reply) co_await c.send(*bad->reply);
      co_return true;
    }
    this->touch_peer(c.peer());
    if (slots == nullptr) {
      // handle()'s work in this frame: one frame and one move less per
      // message; and for a plain handler, no frame of the pipeline's either.
      const running guard(handlers_running_);
      const std::optional<peer_address> from = c.peer();
      const plugin_context ctx = this->context_for(from);
      auto r = pipeline_.enter(m, from, ctx);
      outcome_t out;
      if (r.suspends()) {
        out = co_await pipeline_.receive_routed(std::move(r), std::move(m), c, from, ctx);
      } else {
        out = pipeline_.finish_now(r, m, c, from, ctx);
      }
      if (out.reply) co_await c.send(*out.reply);
      co_return true;
    }
    co_await slots->push(0);
    cs.spawn(
        [this, &c, slots, msg = std::move(m)]() mutable -> task<void> {
          struct release {
            async_queue<char>* q;
            ~release() { (void)q->try_pop(); }
          } guard{slots};
          co_await handle(std::move(msg), c);
        },
        "handler");
    co_return true;
  }

  // Counts a handler while it runs: stop() drains connections only while
  // none does.
  struct running {
    std::size_t& n;
    explicit running(std::size_t& count) : n(count) { ++n; }
    running(const running&) = delete;
    running& operator=(const running&) = delete;
    ~running() { --n; }
  };

  task<void> handle(message_t m, connection_t& c) {
    const running guard(handlers_running_);
    auto out = co_await pipeline_.receive(std::move(m), c, c.peer(), this->context_for(c.peer()));
    if (out.reply) co_await c.send(*out.reply);
  }

  io_context* io_;
  tcp_server_options opts_;
  router_t router_;
  basic_pipeline<router_t> pipeline_;
  tcp_listener listener_;
  std::unordered_map<std::uint64_t, connection_t*> conns_;
  std::map<byte_buffer, std::set<std::uint64_t>> subs_;
  std::uint64_t next_id_ = 0;
  std::size_t handlers_running_ = 0;
  async_event conns_gone_;  // set when the last connection has gone
  bool started_ = false;
  bool stop_requested_ = false;
  task_scope scope_;  // last: destroyed first, while everything its tasks use is alive
};

/// The default protocol's server.
using tcp_server = basic_tcp_server<>;

}  // namespace netaio::inline v0
