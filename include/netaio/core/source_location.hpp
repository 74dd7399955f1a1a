// Where a task was spawned, for diagnostics. (clang 14 cannot use
// std::source_location, so this uses the builtins both compilers share.)
#pragma once

namespace netaio::inline v0 {

/// A file and line, captured at the call site through default arguments.
struct source_location {
  const char* file = "";
  unsigned line = 0;

  static constexpr source_location current(const char* file = __builtin_FILE(),
                                           unsigned line = __builtin_LINE()) noexcept {
    return {file, line};
  }
};

}  // namespace netaio::inline v0
