// Two layers of plugins applied in the reference's encapsulation order.
#pragma once

#include <netaio/plugins/auth_plugin.hpp>
#include <netaio/plugins/cipher_plugin.hpp>
#include <netaio/plugins/context.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/message.hpp>

#include <cstdint>
#include <optional>
#include <utility>

namespace netaio::inline v0 {

/// One layer: an optional auth plugin and an optional cipher plugin. The
/// node's own plugins are the outer layer; a handler's or a call's are the
/// inner one.
template <message_protocol M = message>
struct plugin_layer {
  any_auth_plugin<M> auth{};
  any_cipher_plugin<M> cipher{};
};

/// Sends through one layer: encrypt, then authenticate the ciphertext.
template <message_protocol M>
M seal_layer(M msg, const plugin_layer<M>& layer, const plugin_context& ctx = {}) {
  if (layer.cipher) msg = layer.cipher.encrypt(msg, ctx);
  if (layer.auth) layer.auth.make(msg.auth_data(), msg.body(), ctx);
  return msg;
}

/// Sends through both layers: inner cipher, inner auth, outer cipher, outer auth.
template <message_protocol M>
M seal_layers(M msg, const plugin_layer<M>& inner, const plugin_layer<M>& outer,
              const plugin_context& ctx = {}) {
  return seal_layer(seal_layer(std::move(msg), inner, ctx), outer, ctx);
}

/// Receives through one layer: check the auth fields, then decrypt. Returns
/// nullopt when the auth check fails (answer with layer.auth.error(), unless
/// the message was itself an error); decryption failures throw plugin_error.
template <message_protocol M>
std::optional<M> open_layer(M msg, const plugin_layer<M>& layer, const plugin_context& ctx = {}) {
  if (layer.auth && !layer.auth.check(msg.auth_data(), msg.body(), ctx)) return std::nullopt;
  if (layer.cipher) msg = layer.cipher.decrypt(msg, ctx);
  return msg;
}

/// Which layer refused a received message.
enum class failed_layer : std::uint8_t { none, outer, inner };

/// What open_layers() made of a received message.
template <message_protocol M>
struct opened {
  /// The plaintext message, when both auth checks passed.
  std::optional<M> message;
  /// The layer whose auth check failed, if any.
  failed_layer failed = failed_layer::none;
};

/// Receives through both layers: outer auth, outer cipher, inner auth, inner
/// cipher. (A node picks the inner layer by routing the message the outer
/// layer decrypted; it calls open_layer() twice. This is the fixed-layer case.)
template <message_protocol M>
opened<M> open_layers(M msg, const plugin_layer<M>& inner, const plugin_layer<M>& outer,
                      const plugin_context& ctx = {}) {
  auto mid = open_layer(std::move(msg), outer, ctx);
  if (!mid) return {std::nullopt, failed_layer::outer};
  auto out = open_layer(std::move(*mid), inner, ctx);
  if (!out) return {std::nullopt, failed_layer::inner};
  return {std::move(out), failed_layer::none};
}

}  // namespace netaio::inline v0
