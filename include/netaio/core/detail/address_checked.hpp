// g++ 12 miscompiles a braced aggregate temporary inside a `co_await`
// expression (`co_await client.request(uri, {.server = s})`): besides the
// object it built, it destroys a bitwise copy of it, and a callee that takes
// the aggregate by value is moved from that copy. For a member owning memory
// (a string, a shared pointer) that is a double free. clang compiles it
// correctly. The library's own option types hold what they own in
// address_checked, so they survive that compiler: a value is owned only by
// the object constructed at its address, and a bitwise copy (which has the
// original's address in `self_`) reads the original, which lives until the
// end of the full-expression, and releases nothing.
#pragma once

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

namespace netaio::inline v0::detail {

template <class T>
class address_checked {
 public:
  address_checked() noexcept(std::is_nothrow_default_constructible_v<T>) { ::new (&v_) T(); }
  /// Implicit, as T's own conversions are: `.server = peer` reads as before.
  template <class U>
  requires(!std::same_as<std::remove_cvref_t<U>, address_checked> && std::constructible_from<T, U>)
      address_checked(U&& u)  // NOLINT(google-explicit-constructor)
  noexcept(std::is_nothrow_constructible_v<T, U>) { ::new (&v_) T(std::forward<U>(u)); }
  address_checked(const address_checked& o) { ::new (&v_) T(o.v_); }
  // From a bitwise copy: a copy, since the original still owns the value.
  address_checked(address_checked&& o) noexcept(
      std::is_nothrow_copy_constructible_v<T>&& std::is_nothrow_move_constructible_v<T>) {
    if (o.owns()) {
      ::new (&v_) T(std::move(o.v_));
    } else {
      ::new (&v_) T(o.v_);
    }
  }
  address_checked& operator=(const address_checked& o) {
    if (this != &o) assign(o.v_);
    return *this;
  }
  address_checked& operator=(address_checked&& o) {
    if (this == &o) return *this;
    if (o.owns()) {
      assign(std::move(o.v_));
    } else {
      assign(o.v_);
    }
    return *this;
  }
  template <class U>
  requires(!std::same_as<std::remove_cvref_t<U>, address_checked> &&
           std::assignable_from<T&, U>) address_checked&
  operator=(U&& u) {
    assign(std::forward<U>(u));
    return *this;
  }
  ~address_checked() {
    if (owns()) v_.~T();
  }

  T& get() noexcept { return v_; }
  const T& get() const noexcept { return v_; }
  operator const T&() const noexcept { return v_; }  // NOLINT(google-explicit-constructor)

  /// Whether this object was constructed where it is (false for a copy of
  /// its bytes).
  bool owns() const noexcept { return self_ == this; }

 private:
  template <class U>
  void assign(U&& u) {
    if (owns()) {
      v_ = std::forward<U>(u);
      return;
    }
    // A bitwise copy takes a value of its own; the original keeps its own.
    ::new (&v_) T(std::forward<U>(u));
    self_ = this;
  }

  const address_checked* self_ = this;
  union {
    T v_;
  };
};

}  // namespace netaio::inline v0::detail
