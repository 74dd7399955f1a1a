// Errors raised by the plugins layer.
#pragma once

#include <netaio/core/error.hpp>

namespace netaio::inline v0 {

/// A plugin could not do its work: bad configuration, a missing field, a
/// missing peer key, or input it cannot process.
class plugin_error : public error {
 public:
  using error::error;
};

/// Ciphertext failed authentication or could not be decrypted; the message
/// must be dropped.
class decryption_error : public plugin_error {
 public:
  using plugin_error::plugin_error;
};

}  // namespace netaio::inline v0
