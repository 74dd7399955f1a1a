#include "security.hpp"

#include <netaio/plugins/aead_cipher.hpp>
#include <netaio/plugins/hmac_auth.hpp>
#include <netaio/plugins/replay_guard.hpp>
#include <netaio/plugins/sha256_stream_cipher.hpp>

#include <cmath>

namespace netaio_cli {

namespace {

constexpr std::size_t min_aead_key = 16;

bool given(const CLI::Option* o) {
  return o != nullptr && o->count() > 0;
}

// A secret as the bytes it stands for: text as UTF-8 (the reference's str
// config), or "hex:..." for arbitrary bytes (its bytes config).
byte_buffer secret_bytes(const std::string& text, std::string_view option) {
  if (text.starts_with("hex:")) {
    auto b = from_hex(std::string_view(text).substr(4));
    if (!b) throw usage_error(std::string(option) + ": the text after 'hex:' is not hex");
    if (b->empty()) throw usage_error(std::string(option) + " is empty");
    return *b;
  }
  if (text.empty()) throw usage_error(std::string(option) + " is empty");
  return netaio::to_buffer(netaio::as_bytes(text));
}

}  // namespace

void add_security_options(CLI::App* cmd, security_options& s) {
  const std::string group = "Security";
  s.hmac_opt = cmd->add_option("--hmac-secret", s.hmac_secret,
                               "HMAC auth (the reference's HMACAuthPlugin) with this secret; "
                               "'hex:...' for bytes")
                   ->envname("NETAIO_HMAC_SECRET")
                   ->group(group);
  s.cipher_opt = cmd->add_option("--cipher-key", s.cipher_key,
                                 "the reference's SHA-256 stream cipher with this key "
                                 "(malleable: pair it with --hmac-secret)")
                     ->envname("NETAIO_CIPHER_KEY")
                     ->group(group);
  s.aead_opt = cmd->add_option("--aead-key", s.aead_key,
                               "the XChaCha20-Poly1305 AEAD cipher with this key (at least 16 "
                               "bytes; not understood by the Python reference)")
                   ->envname("NETAIO_AEAD_KEY")
                   ->group(group);
  s.hmac_field_opt =
      cmd->add_option("--hmac-field", s.hmac_field, "auth field holding the HMAC (default hmac)")
          ->group(group);
  s.iv_field_opt = cmd->add_option("--iv-field", s.iv_field,
                                   "auth field holding the stream cipher's IV (default iv)")
                       ->group(group);
  s.replay_opt = cmd->add_option("--replay-window", s.replay_window,
                                 "with --hmac-secret: refuse replayed messages and those whose "
                                 "timestamp is more than SECONDS away")
                     ->group(group);
}

bool any_security(const security_options& s) {
  return given(s.hmac_opt) || given(s.cipher_opt) || given(s.aead_opt);
}

netaio::plugin_layer<netaio::message> make_layer(const security_options& s,
                                                 const netaio::logger& log) {
  netaio::plugin_layer<netaio::message> layer;
  const bool hmac = given(s.hmac_opt);
  const bool cipher = given(s.cipher_opt);
  const bool aead = given(s.aead_opt);
  if (cipher && aead) throw usage_error("give --cipher-key or --aead-key, not both");
  if (given(s.hmac_field_opt) && !hmac) throw usage_error("--hmac-field needs --hmac-secret");
  if (given(s.iv_field_opt) && !cipher) throw usage_error("--iv-field needs --cipher-key");
  if (given(s.replay_opt) && !hmac) throw usage_error("--replay-window needs --hmac-secret");
  if (hmac && s.hmac_field.empty()) throw usage_error("--hmac-field is empty");
  if (cipher && s.iv_field.empty()) throw usage_error("--iv-field is empty");

  if (hmac) {
    netaio::hmac_auth_options opts;
    opts.hmac_field = s.hmac_field;
    if (given(s.replay_opt)) {
      if (!std::isfinite(s.replay_window) || s.replay_window < 1 ||
          s.replay_window > 86400.0 * 365) {
        throw usage_error("--replay-window must be a number of seconds from 1 to a year");
      }
      opts.replay = netaio::replay_options{
          .window_seconds = static_cast<std::int64_t>(s.replay_window), .max_nonces = 65536};
    }
    layer.auth = netaio::hmac_auth_plugin(byte_view(secret_bytes(s.hmac_secret, "--hmac-secret")),
                                          std::move(opts));
  }
  if (cipher) {
    netaio::sha256_stream_cipher_options opts;
    opts.iv_field = s.iv_field;
    layer.cipher = netaio::sha256_stream_cipher_plugin(
        byte_view(secret_bytes(s.cipher_key, "--cipher-key")), std::move(opts));
    if (!hmac) {
      log.warning(std::nullopt,
                  "the SHA-256 stream cipher without --hmac-secret is malleable: anyone on the "
                  "path can flip bits of the messages undetected (add --hmac-secret, or use "
                  "--aead-key)");
    }
  }
  if (aead) {
    const byte_buffer key = secret_bytes(s.aead_key, "--aead-key");
    if (key.size() < min_aead_key) {
      throw usage_error("--aead-key must be at least " + std::to_string(min_aead_key) +
                        " bytes, this one has " + std::to_string(key.size()));
    }
    layer.cipher = netaio::aead_cipher_plugin(byte_view(key));
  }
  return layer;
}

}  // namespace netaio_cli
