// The library's error base and the runtime's own errors.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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

/// A task used in a way that cannot work: awaited twice, awaited after a
/// move, spawned after it already ran, or empty.
class invalid_task : public error {
 public:
  using error::error;
};

/// spawn() or start() on a scope whose join or stop has completed: a joined
/// scope is closed to new tasks (as Trio's closed nursery), so a join never
/// returns while a child is alive.
class scope_closed : public error {
 public:
  scope_closed() : error("netaio: task_scope is closed (its join or stop has completed)") {}
};

/// A task waited for its own end: a task_handle::join() from inside that
/// child (or a task nested in it), or a task_scope::join() from inside one
/// of the scope's own children. Such a wait would never end; cancel instead
/// and let the owner join.
class self_join : public error {
 public:
  using error::error;
};

/// Several children of one scope failed: every failure, first one first.
/// (A single failure is rethrown as itself.)
class task_group_error : public error {
 public:
  explicit task_group_error(std::vector<std::exception_ptr> errors)
      : error(describe(errors)), errors_(std::move(errors)) {}
  const std::vector<std::exception_ptr>& errors() const noexcept { return errors_; }

 private:
  static std::string describe(const std::vector<std::exception_ptr>& errors) {
    std::string s = "netaio: " + std::to_string(errors.size()) + " tasks failed";
    const char* sep = ": ";
    for (const std::exception_ptr& e : errors) {
      s += sep;
      sep = "; ";
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        s += x.what();
      } catch (...) {
        s += "(not a std::exception)";
      }
    }
    return s;
  }
  std::vector<std::exception_ptr> errors_;
};

namespace detail {
/// Rethrows one failure as itself, several as a task_group_error.
[[noreturn]] inline void rethrow_all(std::vector<std::exception_ptr> errors) {
  if (errors.size() == 1) std::rethrow_exception(errors.front());
  throw task_group_error(std::move(errors));
}
}  // namespace detail

}  // namespace netaio::inline v0
