// The peer plugin concept, a non-owning handle to any peer plugin, and the
// reference's default peer plugin.
#pragma once

#include <netaio/plugins/error.hpp>
#include <netaio/plugins/peer.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/packify.hpp>
#include <netaio/wire/wire_error.hpp>

#include <concepts>
#include <optional>
#include <string>

namespace netaio::inline v0 {

/// Validates, encodes and (un)packs peers. validate() must not throw;
/// parse_data() returns the peer's data as a packify value (a dict for the
/// bundled plugins, which read "pubkey" and such from it).
template <class P>
concept peer_plugin = requires(const P& p, const peer& pr, const packify::value& v,
                               std::optional<byte_view> id, byte_view bytes) {
  { p.validate(pr) }
  noexcept->std::same_as<bool>;
  { p.parse_data(pr) } -> std::convertible_to<packify::value>;
  { p.encode_data(v, id) } -> std::convertible_to<byte_buffer>;
  { p.pack(pr) } -> std::convertible_to<byte_buffer>;
  { p.unpack(bytes) } -> std::convertible_to<peer>;
};

/// A non-owning, copyable reference to any peer_plugin, or to none. Auth and
/// cipher plugins receive it so they need not be templates on the peer plugin.
class peer_plugin_ref {
 public:
  /// No peer plugin.
  peer_plugin_ref() noexcept = default;
  /// Refers to `p`, which must outlive this reference.
  template <peer_plugin P>
  peer_plugin_ref(const P& p) noexcept  // NOLINT(google-explicit-constructor)
      : obj_(&p), vt_(&vtable_for<P>) {}

  explicit operator bool() const noexcept { return obj_ != nullptr; }

  bool validate(const peer& pr) const noexcept { return obj_ && vt_->validate(obj_, pr); }
  packify::value parse_data(const peer& pr) const { return get().parse_data(obj_, pr); }
  byte_buffer encode_data(const packify::value& v, std::optional<byte_view> id = {}) const {
    return get().encode_data(obj_, v, id);
  }
  byte_buffer pack(const peer& pr) const { return get().pack(obj_, pr); }
  peer unpack(byte_view data) const { return get().unpack(obj_, data); }

 private:
  struct vtable {
    bool (*validate)(const void*, const peer&) noexcept;
    packify::value (*parse_data)(const void*, const peer&);
    byte_buffer (*encode_data)(const void*, const packify::value&, std::optional<byte_view>);
    byte_buffer (*pack)(const void*, const peer&);
    peer (*unpack)(const void*, byte_view);
  };
  template <class P>
  static constexpr vtable vtable_for = {
      [](const void* o, const peer& pr) noexcept { return static_cast<const P*>(o)->validate(pr); },
      [](const void* o, const peer& pr) -> packify::value {
        return static_cast<const P*>(o)->parse_data(pr);
      },
      [](const void* o, const packify::value& v, std::optional<byte_view> id) -> byte_buffer {
        return static_cast<const P*>(o)->encode_data(v, id);
      },
      [](const void* o, const peer& pr) -> byte_buffer {
        return static_cast<const P*>(o)->pack(pr);
      },
      [](const void* o, byte_view d) -> peer { return static_cast<const P*>(o)->unpack(d); },
  };
  const vtable& get() const {
    if (!obj_) throw plugin_error("netaio: no peer plugin was given");
    return *vt_;
  }

  const void* obj_ = nullptr;
  const vtable* vt_ = nullptr;
};

/// The reference's DefaultPeerPlugin: a peer is valid when it has an id; its
/// data is a packify value; it packs as the packify tuple (id, data).
class default_peer_plugin {
 public:
  /// Accepts every peer that has an id.
  bool validate(const peer& pr) const noexcept { return pr.id.has_value(); }

  /// Unpacks the peer's data; throws plugin_error if it has none, wire_error
  /// if it is not packify.
  packify::value parse_data(const peer& pr) const {
    if (!pr.data) throw plugin_error("netaio: peer has no data to parse");
    return packify::unpack(*pr.data);
  }

  /// Packs `peer_data`; the id is ignored, as by the reference.
  byte_buffer encode_data(const packify::value& peer_data,
                          std::optional<byte_view> peer_id = {}) const {
    (void)peer_id;
    return packify::pack(peer_data);
  }

  /// Packs (id, data); addresses are not included.
  byte_buffer pack(const peer& pr) const {
    return packify::pack(packify::value::tuple({optional_bytes(pr.id), optional_bytes(pr.data)}));
  }

  /// Unpacks what pack() made, with no addresses. Throws plugin_error unless
  /// `data` holds a 2-item tuple or list of bytes-or-None.
  peer unpack(byte_view data) const {
    const packify::value v = packify::unpack(data);
    if (!v.is(packify::kind::tuple) && !v.is(packify::kind::list)) {
      throw plugin_error("netaio: packed peer is a " + std::string(to_string(v.type())) +
                         ", not an (id, data) tuple");
    }
    if (v.items().size() != 2) {
      throw plugin_error("netaio: packed peer has " + std::to_string(v.items().size()) +
                         " items, not 2");
    }
    peer out;
    out.id = bytes_or_none(v.items()[0], "id");
    out.data = bytes_or_none(v.items()[1], "data");
    return out;
  }

 private:
  static packify::value optional_bytes(const std::optional<byte_buffer>& b) {
    return b ? packify::value(*b) : packify::value();
  }
  static std::optional<byte_buffer> bytes_or_none(const packify::value& v, const char* what) {
    if (v.is_none()) return std::nullopt;
    if (v.is(packify::kind::bytes) || v.is(packify::kind::bytearray)) return v.as_bytes();
    throw plugin_error(std::string("netaio: packed peer ") + what + " is a " +
                       std::string(to_string(v.type())) + ", not bytes or None");
  }
};

static_assert(peer_plugin<default_peer_plugin>);

}  // namespace netaio::inline v0
