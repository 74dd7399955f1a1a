// The send side: sealing a message with a call's (or handler's) inner plugins
// and the node's outer plugins, in the reference's order.
#pragma once

#include <netaio/node/log.hpp>
#include <netaio/plugins/context.hpp>
#include <netaio/plugins/layers.hpp>
#include <netaio/wire/concepts.hpp>

#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace netaio::inline v0 {

namespace detail {

// The text of the exception being handled (inside a catch block only).
inline std::string current_exception_text() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

}  // namespace detail

/// Seals `msg` as the reference's prepare_message: inner cipher, inner auth,
/// outer cipher, outer auth. A plugin that fails is logged at warning with
/// `to` and the reason, and the message dropped (nullopt), as the reference
/// drops it. (seal_layers() is the same without the logging: it throws.)
template <message_protocol M>
std::optional<M> prepare_message(M msg, const plugin_layer<M>& inner, const plugin_layer<M>& outer,
                                 const plugin_context& ctx, const logger& log,
                                 const std::optional<peer_address>& to = std::nullopt) {
  // No plugin in either layer: the message is sent as it is.
  const auto empty = [](const plugin_layer<M>& l) { return !l.auth && !l.cipher; };
  if (empty(inner) && empty(outer)) return std::optional<M>(std::move(msg));
  try {
    return seal_layers(std::move(msg), inner, outer, ctx);
  } catch (...) {
    log.warning(to, "could not seal a message (", detail::current_exception_text(), "); not sent");
    return std::nullopt;
  }
}

/// Whether sealing with `layer` depends on the peer: then a message sent to
/// many peers is sealed once per peer, else once for all (as the reference's
/// broadcast and notify decide).
template <message_protocol M>
bool is_peer_specific(const plugin_layer<M>& layer) {
  return (layer.auth && layer.auth.is_peer_specific()) ||
         (layer.cipher && layer.cipher.is_peer_specific());
}

}  // namespace netaio::inline v0
