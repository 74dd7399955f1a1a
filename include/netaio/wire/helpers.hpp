// The reference's message helpers: respond-uri, ok, error (classified),
// not found and not permitted.
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/message.hpp>

#include <string_view>

namespace netaio::inline v0 {

/// The type make_error_msg gives `text`: NOT_FOUND if it contains "not found",
/// else AUTH_ERROR if "auth", else NOT_PERMITTED if "not permitted", else ERROR.
template <message_type_enum MT = message_type>
constexpr MT classify_error(std::string_view text) noexcept {
  if (text.find("not found") != std::string_view::npos) return MT::not_found;
  if (text.find("auth") != std::string_view::npos) return MT::auth_error;
  if (text.find("not permitted") != std::string_view::npos) return MT::not_permitted;
  return MT::error;
}

namespace detail {
inline std::string_view as_text(byte_view b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
}  // namespace detail

/// A RESPOND_URI message.
template <message_protocol M = message>
M make_respond_uri_msg(byte_view content, byte_view uri) {
  return M::prepare(M::body_t::prepare(content, uri, 0), M::message_type_t::respond_uri);
}

/// An OK message.
template <message_protocol M = message>
M make_ok_msg(byte_view content = {}, byte_view uri = {}) {
  return M::prepare(M::body_t::prepare(content, uri, 0), M::message_type_t::ok);
}

/// An error message with `uri` ("ERROR" unless given, as the reference's
/// make_error_msg(msg, uri)), typed by classify_error().
template <message_protocol M = message>
M make_error_msg(std::string_view text, byte_view uri = as_bytes("ERROR")) {
  return M::prepare(M::body_t::prepare(as_bytes(text), uri, 0),
                    classify_error<typename M::message_type_t>(text));
}
/// An error message with `uri` ("ERROR" unless given), typed by classify_error().
template <message_protocol M = message>
M make_error_msg(byte_view text, byte_view uri = as_bytes("ERROR")) {
  return make_error_msg<M>(detail::as_text(text), uri);
}

/// A NOT_FOUND message.
template <message_protocol M = message>
M make_not_found_msg(std::string_view text = "not found", byte_view uri = {}) {
  return M::prepare(M::body_t::prepare(as_bytes(text), uri, 0), M::message_type_t::not_found);
}
/// A NOT_FOUND message.
template <message_protocol M = message>
M make_not_found_msg(byte_view text, byte_view uri = {}) {
  return make_not_found_msg<M>(detail::as_text(text), uri);
}

/// A NOT_PERMITTED message.
template <message_protocol M = message>
M make_not_permitted_msg(std::string_view text = "not permitted", byte_view uri = {}) {
  return M::prepare(M::body_t::prepare(as_bytes(text), uri, 0), M::message_type_t::not_permitted);
}
/// A NOT_PERMITTED message.
template <message_protocol M = message>
M make_not_permitted_msg(byte_view text, byte_view uri = {}) {
  return make_not_permitted_msg<M>(detail::as_text(text), uri);
}

}  // namespace netaio::inline v0
