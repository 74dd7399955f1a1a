// The security options every command that talks takes (--hmac-secret,
// --cipher-key, --aead-key, field names, --replay-window, and their
// environment variables), turned into the plugin layer the node layer's
// prepare_message() and open_layers() apply.
#pragma once

#include "common.hpp"

#include <netaio/node/log.hpp>
#include <netaio/plugins/layers.hpp>
#include <netaio/wire/message.hpp>

#include <memory>
#include <string>

namespace netaio_cli {

/// The security options as parsed (secrets still as given).
struct security_options {
  std::string hmac_secret;
  std::string cipher_key;
  std::string aead_key;
  std::string hmac_field = "hmac";
  std::string iv_field = "iv";
  double replay_window = 0;
  CLI::Option* hmac_opt = nullptr;
  CLI::Option* cipher_opt = nullptr;
  CLI::Option* aead_opt = nullptr;
  CLI::Option* hmac_field_opt = nullptr;
  CLI::Option* iv_field_opt = nullptr;
  CLI::Option* replay_opt = nullptr;
};

/// Adds the security options to `cmd` (a "Security" group of its help).
/// `s` must outlive the parse (commands keep it in a shared_ptr).
void add_security_options(CLI::App* cmd, security_options& s);

/// The layer the options describe: HMAC auth and/or one cipher (the
/// reference's SHA-256 stream cipher or the AEAD cipher). Throws usage_error
/// for an empty or malformed secret, an AEAD key under 16 bytes, both
/// ciphers at once, or a field/replay option without its plugin. Warns on
/// `log`, once, when the stream cipher goes without HMAC (it is malleable).
netaio::plugin_layer<netaio::message> make_layer(const security_options& s,
                                                 const netaio::logger& log);

/// Whether any security option was given.
bool any_security(const security_options& s);

}  // namespace netaio_cli
