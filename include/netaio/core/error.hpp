// The library's error base and the runtime's own errors.
#pragma once

#include <stdexcept>
#include <string>

namespace netaio::inline v0 {

/// Base of every error netaio reports (cancellation excepted: see
/// operation_cancelled, which deliberately is not a netaio::error).
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A deadline set by with_timeout expired; distinct from an outer cancellation.
class timed_out : public error {
 public:
  timed_out() : error("netaio: operation timed out") {}
  using error::error;
};

}  // namespace netaio::inline v0
