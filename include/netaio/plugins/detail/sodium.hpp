// libsodium set-up shared by the bundled plugins.
#pragma once

#include <netaio/plugins/error.hpp>

#include <sodium.h>

namespace netaio::inline v0::detail {

/// Initialises libsodium once per process; every entry point that uses it
/// calls this first. sodium_init() is itself thread-safe and idempotent; the
/// static only saves repeated calls.
inline void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw plugin_error("netaio: libsodium could not be initialised");
}

}  // namespace netaio::inline v0::detail
