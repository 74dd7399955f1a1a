// The auth plugin concept, and a type-erased auth plugin for handler tables.
#pragma once

#include <netaio/core/detail/address_checked.hpp>
#include <netaio/plugins/context.hpp>
#include <netaio/plugins/error.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/message.hpp>

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

namespace netaio::inline v0 {

namespace detail {

template <class P, class M>
concept has_templated_error = requires(const P& p) {
  { p.template error<M>() } -> std::same_as<M>;
};
template <class P, class M>
concept has_plain_error = requires(const P& p) {
  { p.error() } -> std::convertible_to<M>;
};

}  // namespace detail

/// Sets (make) and verifies (check) the auth fields of messages of protocol
/// message type M, and makes the error response for a failed check (either a
/// member template error<M>() or a plain error() convertible to M).
/// check() must not throw for bad input; it returns false.
template <class P, class M = message>
concept auth_plugin = message_protocol<M> &&
    requires(const P& p, typename M::auth_fields_t& a, const typename M::body_t& b,
             const plugin_context& ctx) {
  p.make(a, b, ctx);
  { p.check(std::as_const(a), b, ctx) } -> std::same_as<bool>;
  { P::is_peer_specific() } -> std::convertible_to<bool>;
} &&(detail::has_templated_error<P, M> || detail::has_plain_error<P, M>);

/// The error response of auth plugin `p` for message type M.
template <class M, class P>
requires auth_plugin<P, M> M auth_error_of(const P& p) {
  if constexpr (detail::has_templated_error<P, M>) {
    return p.template error<M>();
  } else {
    return M(p.error());
  }
}

/// Any auth plugin for messages M, shared (copies refer to one plugin), or
/// none. Handler tables store these.
template <message_protocol M = message>
class any_auth_plugin {
 public:
  using auth_fields_t = typename M::auth_fields_t;
  using body_t = typename M::body_t;

  /// None.
  any_auth_plugin() noexcept = default;
  /// None.
  any_auth_plugin(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)
  /// Owns `p`.
  template <class P>
  requires(!std::same_as<std::remove_cvref_t<P>, any_auth_plugin> &&
           auth_plugin<std::remove_cvref_t<P>, M>)
      any_auth_plugin(P&& p)  // NOLINT(google-explicit-constructor)
      : impl_(std::make_shared<model<std::remove_cvref_t<P>>>(std::forward<P>(p))) {}
  /// Shares `p`.
  template <class P>
  requires auth_plugin<P, M> any_auth_plugin(
      std::shared_ptr<P> p)  // NOLINT(google-explicit-constructor)
      : impl_(p ? std::make_shared<shared_model<P>>(std::move(p)) : nullptr) {}

  explicit operator bool() const noexcept { return impl_.get() != nullptr; }

  void make(auth_fields_t& a, const body_t& b, const plugin_context& ctx = {}) const {
    get().make(a, b, ctx);
  }
  bool check(const auth_fields_t& a, const body_t& b, const plugin_context& ctx = {}) const {
    return get().check(a, b, ctx);
  }
  M error() const { return get().error(); }
  bool is_peer_specific() const { return get().is_peer_specific(); }

 private:
  struct iface {
    virtual ~iface() = default;
    virtual void make(auth_fields_t&, const body_t&, const plugin_context&) const = 0;
    virtual bool check(const auth_fields_t&, const body_t&, const plugin_context&) const = 0;
    virtual M error() const = 0;
    virtual bool is_peer_specific() const = 0;
  };
  template <class P>
  struct model final : iface {
    template <class Q>
    explicit model(Q&& q) : p(std::forward<Q>(q)) {}
    void make(auth_fields_t& a, const body_t& b, const plugin_context& c) const override {
      p.make(a, b, c);
    }
    bool check(const auth_fields_t& a, const body_t& b, const plugin_context& c) const override {
      return p.check(a, b, c);
    }
    M error() const override { return auth_error_of<M>(p); }
    bool is_peer_specific() const override { return P::is_peer_specific(); }
    P p;
  };
  template <class P>
  struct shared_model final : iface {
    explicit shared_model(std::shared_ptr<P> q) : p(std::move(q)) {}
    void make(auth_fields_t& a, const body_t& b, const plugin_context& c) const override {
      p->make(a, b, c);
    }
    bool check(const auth_fields_t& a, const body_t& b, const plugin_context& c) const override {
      return p->check(a, b, c);
    }
    M error() const override { return auth_error_of<M>(*p); }
    bool is_peer_specific() const override { return P::is_peer_specific(); }
    std::shared_ptr<P> p;
  };
  const iface& get() const {
    if (!impl_.get()) throw plugin_error("netaio: no auth plugin");
    return *impl_.get();
  }

  // Address-checked: plugin layers travel in option aggregates, which g++ 12
  // may copy bitwise (core/detail/address_checked.hpp).
  detail::address_checked<std::shared_ptr<const iface>> impl_;
};

}  // namespace netaio::inline v0
