// The receive pipeline, written once for every node: outer auth check, outer
// decrypt, routing, inner auth check, inner decrypt, handler, then inner and
// outer sealing of the answer. No I/O: it takes a decoded message and gives
// back what to send (the node owns sockets, ordering and concurrency).
#pragma once

#include <netaio/core/cancellation.hpp>
#include <netaio/core/error.hpp>
#include <netaio/core/task.hpp>
#include <netaio/node/log.hpp>
#include <netaio/node/router.hpp>
#include <netaio/node/send.hpp>
#include <netaio/plugins/context.hpp>
#include <netaio/plugins/layers.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/helpers.hpp>
#include <netaio/wire/message_type.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace netaio::inline v0 {

/// What became of a received message.
enum class receive_status : std::uint8_t {
  handled,         ///< a handler ran; its answer (if any) is in `reply`, sealed
  not_found,       ///< no handler: the default handler ran
  auth_failed,     ///< an auth check failed; `reply` is the auth-error answer, unsealed
  decrypt_failed,  ///< a cipher could not decrypt; `reply` per policy, unsealed
  handler_failed,  ///< the handler threw; `reply` is the failure answer, sealed
  seal_failed,     ///< the answer could not be sealed, so nothing is sent
  invalid,         ///< the frame was malformed (see reject())
};

/// "handled", "not found", ...
constexpr std::string_view to_string(receive_status s) noexcept {
  constexpr std::string_view names[] = {"handled",        "not found",      "auth failed",
                                        "decrypt failed", "handler failed", "seal failed",
                                        "invalid"};
  return names[static_cast<std::uint8_t>(s)];
}

/// The pipeline's verdict on one message: what to send back, as is, to its
/// sender (nullopt: nothing), and what happened.
template <message_protocol M>
struct receive_outcome {
  std::optional<M> reply;
  receive_status status = receive_status::handled;
  /// For auth and decrypt failures: the layer that failed.
  failed_layer layer = failed_layer::none;
  /// For failures: why, as logged.
  std::string reason;
};

/// What the node answers to a malformed frame (checksum, lengths, packify...).
enum class invalid_frame_policy : std::uint8_t {
  answer_sealed,  ///< "invalid message" through the outer plugins (the reference's TCP server)
  answer_plain,   ///< "invalid message" without plugins (the reference's UDP node)
  drop,           ///< nothing
};

/// The node-wide parts of the pipeline.
template <message_protocol M>
struct pipeline_options {
  /// The node's own plugins (the reference's auth_plugin and cipher_plugin).
  plugin_layer<M> outer{};
  /// The answer to a message a cipher could not decrypt, sent without
  /// plugins; empty (the default) drops the message, as the reference does.
  std::function<std::optional<M>(const M&, failed_layer, std::string_view reason)> decrypt_error{};
  /// What reject() answers.
  invalid_frame_policy invalid = invalid_frame_policy::answer_sealed;
  /// Makes reject()'s answer (the reference's make_error).
  std::function<M(std::string_view)> make_error = [](std::string_view text) {
    return make_error_msg<M>(text);
  };
};

/// The receive pipeline of a node with router `R` (a basic_router).
template <class R>
class basic_pipeline {
 public:
  using router_t = R;
  using message_t = typename R::message_t;
  using connection_t = typename R::connection_t;
  using route_t = typename R::route;
  using outcome_t = receive_outcome<message_t>;

  /// Routes through `router` and logs to `log`; both must outlive the pipeline.
  basic_pipeline(R& router, const logger& log, pipeline_options<message_t> opts = {})
      : router_(&router), log_(&log), opts_(std::move(opts)) {}

  pipeline_options<message_t>& options() noexcept { return opts_; }
  const pipeline_options<message_t>& options() const noexcept { return opts_; }
  R& router() const noexcept { return *router_; }

  /// How far a message got before its handler: `ended` (the outcome: a
  /// check or decryption failed, or a one-shot handler was taken by another
  /// message), or routed to `route`, whose handler is still to be called.
  struct routed {
    std::optional<outcome_t> ended;
    route_t route{};
    /// not_found when the default handler was routed to.
    receive_status status = receive_status::handled;
    /// The node's plugins as the message came in: they seal the answer, even
    /// if the node replaces its plugins while the handler runs.
    plugin_layer<message_t> outer{};
    /// The handler is a coroutine: finish with receive_routed(), not finish_now().
    bool suspends() const noexcept { return !ended && route.handler && route.handler->suspends; }
  };

  /// Takes `msg`, received on `conn` from `from`, through the whole pipeline.
  /// `ctx` is what the plugins are told of the peer. Never throws for what
  /// the peer sent or what a handler did; cancellation passes through.
  /// `from` is taken by value: the task may be started after the caller's
  /// expression ends (a node's callers pass a peer_address, which makes a
  /// temporary optional in any case).
  task<outcome_t> receive(message_t msg, connection_t& conn, std::optional<peer_address> from,
                          plugin_context ctx = {}) {
    return run(std::nullopt, std::move(msg), conn, std::move(from), std::move(ctx));
  }
  /// The rest of receive() for a message enter() routed (`msg` as enter()
  /// left it): the handler called and awaited, its answer sealed.
  task<outcome_t> receive_routed(routed r, message_t msg, connection_t& conn,
                                 std::optional<peer_address> from, plugin_context ctx) {
    return run(std::move(r), std::move(msg), conn, std::move(from), std::move(ctx));
  }

  /// The pipeline up to the handler, without suspending: the outer check and
  /// decryption, routing, the inner check and decryption, and the one-shot
  /// handler taken. A node that finds the handler plain finishes at once with
  /// finish_now(), in its own frame; else with receive_routed().
  routed enter(message_t& msg, const std::optional<peer_address>& from, const plugin_context& ctx) {
    routed r;
    r.outer = opts_.outer;
    const plugin_layer<message_t>& outer = r.outer;
    log_->debug(
        from, "received ", [&] { return std::string(to_string(msg.type())); }, " for ",
        [&] { return uri_text(msg); });

    if (outer.auth && !outer.auth.check(msg.auth_data(), msg.body(), ctx)) {
      r.ended = auth_failed(msg, outer.auth, failed_layer::outer, from);
      return r;
    }
    if (outer.cipher) {
      try {
        msg = outer.cipher.decrypt(msg, ctx);
      } catch (...) {
        r.ended = decrypt_failed(msg, failed_layer::outer, from);
        return r;
      }
    }

    std::optional<route_t> found = router_->find(router_->lookup_keys(msg, from));
    if (!found) {
      log_->warning(
          from, "no handler for ", [&] { return describe_keys(router_->extract(msg, from)); },
          "; answering with the default handler");
      found = router_->default_route();
      r.status = receive_status::not_found;
    }
    r.route = std::move(*found);
    const plugin_layer<message_t>& inner = r.route.handler->inner;  // the route keeps it alive

    if (inner.auth && !inner.auth.check(msg.auth_data(), msg.body(), ctx)) {
      r.ended = auth_failed(msg, inner.auth, failed_layer::inner, from);
      return r;
    }
    if (inner.cipher) {
      try {
        msg = inner.cipher.decrypt(msg, ctx);
      } catch (...) {
        r.ended = decrypt_failed(msg, failed_layer::inner, from);
        return r;
      }
    }
    // Nothing has suspended since find(): a one-shot handler found is still
    // there, and is taken now, before its handler can suspend, so a second
    // message cannot run it again. It is kept when a check above failed.
    if (!router_->consume(r.route)) r.ended.emplace();
    return r;
  }

  /// Calls a plain handler that enter() routed to, and seals its answer:
  /// the rest of receive(), without a coroutine frame. Throws netaio::error,
  /// calling nothing, for a coroutine handler (`r.suspends()`).
  outcome_t finish_now(routed& r, message_t& msg, connection_t& conn,
                       const std::optional<peer_address>& from, const plugin_context& ctx) {
    if (r.ended) return std::move(*r.ended);
    if (r.suspends())
      throw error("netaio: pipeline: finish_now() for a coroutine handler (use receive_routed())");
    outcome_t out;
    out.status = r.status;
    std::exception_ptr failure;
    try {
      out.reply = std::move(R::invoke(r.route, msg, conn).reply);
    } catch (const operation_cancelled&) {
      throw;
    } catch (...) {
      failure = record_failure(out);
    }
    conclude(out, std::move(failure), r, msg, ctx, from);
    return out;
  }

  /// The answer to a frame that could not be decoded (`reason`: why), per
  /// options().invalid; logged at warning with the peer.
  outcome_t reject(std::string_view reason, const std::optional<peer_address>& from,
                   const plugin_context& ctx = {}) const {
    log_->warning(from, "invalid frame: ", reason);
    outcome_t out{std::nullopt, receive_status::invalid, failed_layer::none, std::string(reason)};
    if (opts_.invalid == invalid_frame_policy::drop) return out;
    message_t answer = opts_.make_error("invalid message");
    if (opts_.invalid == invalid_frame_policy::answer_plain) {
      out.reply = std::move(answer);
    } else {
      out.reply = prepare_message(std::move(answer), {}, opts_.outer, ctx, *log_, from);
    }
    return out;
  }

 private:
  task<outcome_t> run(std::optional<routed> pre, message_t msg, connection_t& conn,
                      std::optional<peer_address> from, plugin_context ctx) {
    routed r = pre ? std::move(*pre) : enter(msg, from, ctx);
    if (r.ended) co_return std::move(*r.ended);
    outcome_t out;
    out.status = r.status;
    std::exception_ptr failure;
    try {
      handler_call<message_t> call = R::invoke(r.route, msg, conn);
      // (not a conditional expression: g++ 12 evaluates a co_await there eagerly)
      if (call.pending.valid()) {
        out.reply = co_await std::move(call.pending);
      } else {
        out.reply = std::move(call.reply);
      }
    } catch (const operation_cancelled&) {
      throw;
    } catch (...) {
      failure = record_failure(out);
    }
    conclude(out, std::move(failure), r, msg, ctx, from);
    co_return out;
  }

  // Inside a catch block: the handler's failure, its text kept as the reason.
  static std::exception_ptr record_failure(outcome_t& out) {
    out.reason = detail::current_exception_text();
    return std::current_exception();
  }

  // After the handler: the failure answer if it threw, then the answer sealed.
  void conclude(outcome_t& out, std::exception_ptr failure, const routed& r, message_t& msg,
                const plugin_context& ctx, const std::optional<peer_address>& from) const {
    if (failure) {
      log_->error(
          from, "handler ", [&] { return router_->describe(r.route); }, " failed: ", out.reason);
      out.status = receive_status::handler_failed;
      out.reply = answer_with(from, "the failure answer",
                              [&] { return router_->failure(msg, std::move(failure)); });
    }
    if (out.reply) {
      std::optional<message_t> sealed =
          prepare_message(std::move(*out.reply), r.route.handler->inner, r.outer, ctx, *log_, from);
      // Moved in, not assigned: a message assigned to forgets that its
      // checksum is known, and encoding it would compute that again.
      out.reply.reset();
      if (sealed) {
        out.reply.emplace(std::move(*sealed));
      } else {
        out.status = receive_status::seal_failed;
        out.reason = "the answer could not be sealed";
      }
    }
  }

  outcome_t auth_failed(const message_t& msg, const any_auth_plugin<message_t>& plugin,
                        failed_layer layer, const std::optional<peer_address>& from) const {
    const char* which = layer == failed_layer::outer ? "node" : "handler";
    log_->warning(from, "auth check failed (", which, " plugin) for a ",
                  std::string(to_string(msg.type())), " message");
    // Unsealed: the sender could not verify our seal any more than we theirs.
    return {answer_with(from, "the auth-error answer",
                        [&] { return router_->auth_error(msg, plugin); }),
            receive_status::auth_failed, layer, "auth check failed"};
  }

  // Inside a catch block: the cipher's exception is the reason.
  outcome_t decrypt_failed(const message_t& msg, failed_layer layer,
                           const std::optional<peer_address>& from) const {
    std::string reason = detail::current_exception_text();
    const char* which = layer == failed_layer::outer ? "node" : "handler";
    log_->warning(from, "could not decrypt (", which, " plugin): ", reason, "; not handled");
    outcome_t out{std::nullopt, receive_status::decrypt_failed, layer, std::move(reason)};
    if (opts_.decrypt_error) {
      out.reply = answer_with(from, "the decrypt-error answer",
                              [&] { return opts_.decrypt_error(msg, layer, out.reason); });
    }
    return out;
  }

  // Runs a replaceable answer hook; one that throws is logged, and answers nothing.
  template <class F>
  std::optional<message_t> answer_with(const std::optional<peer_address>& from, const char* what,
                                       F&& make) const {
    try {
      return make();
    } catch (...) {
      log_->error(from, what, " failed: ", detail::current_exception_text());
      return std::nullopt;
    }
  }

  std::string describe_keys(const typename R::keys_t& keys) const {
    std::string s = "[";
    for (const auto& k : keys) {
      if (s.size() > 1) s += ", ";
      s += router_->describe(k);
    }
    s += ']';
    return s;
  }

  static std::string uri_text(const message_t& msg) {
    std::string s;
    const byte_view u = msg.body().uri();
    detail::describe_uri(s, std::string_view(reinterpret_cast<const char*>(u.data()), u.size()));
    return s;
  }

  R* router_;
  const logger* log_;
  pipeline_options<message_t> opts_;
};

}  // namespace netaio::inline v0
