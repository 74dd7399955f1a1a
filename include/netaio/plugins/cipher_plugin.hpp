// The cipher plugin concept, and a type-erased cipher plugin for handler tables.
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

/// Encrypts and decrypts messages of protocol message type M, returning new
/// messages. Both throw plugin_error (decryption_error for inauthentic or
/// undecryptable input) when they cannot do their work.
template <class P, class M = message>
concept cipher_plugin = message_protocol<M> &&
    requires(const P& p, const M& m, const plugin_context& ctx) {
  { p.encrypt(m, ctx) } -> std::same_as<M>;
  { p.decrypt(m, ctx) } -> std::same_as<M>;
  { P::is_peer_specific() } -> std::convertible_to<bool>;
};

/// Any cipher plugin for messages M, shared (copies refer to one plugin), or none.
template <message_protocol M = message>
class any_cipher_plugin {
 public:
  /// None.
  any_cipher_plugin() noexcept = default;
  /// None.
  any_cipher_plugin(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)
  /// Owns `p`.
  template <class P>
  requires(!std::same_as<std::remove_cvref_t<P>, any_cipher_plugin> &&
           cipher_plugin<std::remove_cvref_t<P>, M>)
      any_cipher_plugin(P&& p)  // NOLINT(google-explicit-constructor)
      : impl_(std::make_shared<model<std::remove_cvref_t<P>>>(std::forward<P>(p))) {}
  /// Shares `p`.
  template <class P>
  requires cipher_plugin<P, M> any_cipher_plugin(
      std::shared_ptr<P> p)  // NOLINT(google-explicit-constructor)
      : impl_(p ? std::make_shared<shared_model<P>>(std::move(p)) : nullptr) {}

  explicit operator bool() const noexcept { return impl_.get() != nullptr; }

  M encrypt(const M& m, const plugin_context& ctx = {}) const { return get().encrypt(m, ctx); }
  M decrypt(const M& m, const plugin_context& ctx = {}) const { return get().decrypt(m, ctx); }
  bool is_peer_specific() const { return get().is_peer_specific(); }

 private:
  struct iface {
    virtual ~iface() = default;
    virtual M encrypt(const M&, const plugin_context&) const = 0;
    virtual M decrypt(const M&, const plugin_context&) const = 0;
    virtual bool is_peer_specific() const = 0;
  };
  template <class P>
  struct model final : iface {
    template <class Q>
    explicit model(Q&& q) : p(std::forward<Q>(q)) {}
    M encrypt(const M& m, const plugin_context& c) const override { return p.encrypt(m, c); }
    M decrypt(const M& m, const plugin_context& c) const override { return p.decrypt(m, c); }
    bool is_peer_specific() const override { return P::is_peer_specific(); }
    P p;
  };
  template <class P>
  struct shared_model final : iface {
    explicit shared_model(std::shared_ptr<P> q) : p(std::move(q)) {}
    M encrypt(const M& m, const plugin_context& c) const override { return p->encrypt(m, c); }
    M decrypt(const M& m, const plugin_context& c) const override { return p->decrypt(m, c); }
    bool is_peer_specific() const override { return P::is_peer_specific(); }
    std::shared_ptr<P> p;
  };
  const iface& get() const {
    if (!impl_.get()) throw plugin_error("netaio: no cipher plugin");
    return *impl_.get();
  }

  // Address-checked: plugin layers travel in option aggregates, which g++ 12
  // may copy bitwise (core/detail/address_checked.hpp).
  detail::address_checked<std::shared_ptr<const iface>> impl_;
};

}  // namespace netaio::inline v0
