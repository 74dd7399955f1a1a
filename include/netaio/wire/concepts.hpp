// The reference's HeaderProtocol, AuthFieldsProtocol, BodyProtocol and
// MessageProtocol as concepts: a user type satisfying one works wherever the
// default does.
#pragma once

#include <netaio/wire/body.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/message_type.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>

namespace netaio::inline v0 {

/// A fixed-size header naming a message type, the auth and body lengths and a checksum.
template <class H>
concept header_type = std::copyable<H> && message_type_enum<typename H::message_type_t> &&
    std::constructible_from<H, typename H::message_type_t, std::size_t, std::size_t,
                            std::uint32_t> &&
    requires(const H ch, H h, byte_view v, byte_buffer& out, std::size_t n, std::uint32_t c) {
  { H::header_length() } -> std::convertible_to<std::size_t>;
  { H::decode(v) } -> std::same_as<H>;  // throws wire_error
  { ch.message_type() } -> std::same_as<typename H::message_type_t>;
  { ch.auth_length() } -> std::convertible_to<std::size_t>;
  { ch.body_length() } -> std::convertible_to<std::size_t>;
  { ch.checksum() } -> std::convertible_to<std::uint32_t>;
  h.set_lengths(n, n, c);
  ch.encode_to(out);
  { ch.encode() } -> std::same_as<byte_buffer>;
};

/// Authentication fields carried between header and body.
template <class A>
concept auth_fields_type = std::copyable<A> && std::default_initializable<A> &&
    requires(const A ca, byte_view v, byte_buffer& out) {
  ca.fields();
  { A::decode(v) } -> std::same_as<A>;  // throws wire_error
  A::validate(v);                       // what decode checks, without allocating
  ca.encode_to(out);
  { ca.encode() } -> std::same_as<byte_buffer>;
};

/// A body with a uri and content.
template <class B>
concept body_type = std::copyable<B> &&
    requires(const B cb, byte_view v, byte_buffer& out, std::size_t overhead) {
  { B::prepare(v, v, overhead) } -> std::same_as<B>;  // (content, uri, overhead)
  { B::parse(v) } -> std::same_as<body_ref>;          // views in place; throws wire_error
  { B::decode(v) } -> std::same_as<B>;
  { cb.uri() } -> std::convertible_to<byte_view>;
  { cb.content() } -> std::convertible_to<byte_view>;
  { cb.uri_length() } -> std::convertible_to<std::size_t>;
  cb.encode_to(out);
  { cb.encode() } -> std::same_as<byte_buffer>;
};

/// A message: header, auth fields and body, with the reference's operations.
template <class M>
concept message_protocol = std::copyable<M> && header_type<typename M::header_t> &&
    auth_fields_type<typename M::auth_fields_t> && body_type<typename M::body_t> &&
    requires(const M cm, M m, byte_view v, typename M::body_t b,
             typename M::header_t::message_type_t t, typename M::auth_fields_t a) {
  { cm.header() } -> std::convertible_to<const typename M::header_t&>;
  { cm.auth_data() } -> std::convertible_to<const typename M::auth_fields_t&>;
  { cm.body() } -> std::convertible_to<const typename M::body_t&>;
  { cm.check() } -> std::same_as<bool>;
  { m.encode() } -> std::same_as<byte_buffer>;
  { cm.copy() } -> std::same_as<M>;
  { M::prepare(b, t, a) } -> std::same_as<M>;
  { M::decode(v) } -> std::same_as<M>;
};

}  // namespace netaio::inline v0
