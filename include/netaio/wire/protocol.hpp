// The protocol policy: header, auth fields and body types (and the message and
// message-type enum they imply) bundled for the layers above.
#pragma once

#include <netaio/wire/auth_fields.hpp>
#include <netaio/wire/body.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/header.hpp>
#include <netaio/wire/message.hpp>
#include <netaio/wire/message_type.hpp>

namespace netaio::inline v0 {

/// A wire protocol: which header, auth fields and body make its messages.
template <header_type H = header, auth_fields_type A = auth_fields, body_type B = body>
struct protocol {
  using header_t = H;
  using auth_fields_t = A;
  using body_t = B;
  using message_type_t = typename H::message_type_t;
  using message_t = basic_message<H, A, B>;
};

/// The reference's protocol.
using default_protocol = protocol<>;

/// The default protocol with a custom message-type enum.
template <message_type_enum MT>
using protocol_for = protocol<basic_header<MT>, auth_fields, body>;

/// A protocol policy.
template <class P>
concept protocol_policy =
    header_type<typename P::header_t> && auth_fields_type<typename P::auth_fields_t> &&
    body_type<typename P::body_t> && message_protocol<typename P::message_t>;

static_assert(protocol_policy<default_protocol>);

}  // namespace netaio::inline v0
