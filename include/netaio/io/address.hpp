// IP addresses and endpoints (address + port): parsed from and printed as
// "1.2.3.4:80", "[::1]:80" or "localhost:80".
#pragma once

#include <netaio/io/detail/socket_types.hpp>
#include <netaio/io/error.hpp>

#include <array>
#include <charconv>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace netaio::inline v0 {

/// An address family.
enum class ip_family : std::uint8_t { v4, v6 };

/// An IPv4 or IPv6 address (IPv6 with an optional scope, i.e. interface index).
class ip_address {
 public:
  /// 0.0.0.0
  ip_address() noexcept = default;

  static ip_address v4(std::array<std::uint8_t, 4> bytes) noexcept {
    ip_address a;
    std::memcpy(a.bytes_.data(), bytes.data(), 4);
    return a;
  }
  static ip_address v6(const std::array<std::uint8_t, 16>& bytes,
                       std::uint32_t scope_id = 0) noexcept {
    ip_address a;
    a.family_ = ip_family::v6;
    a.bytes_ = bytes;
    a.scope_id_ = scope_id;
    return a;
  }
  static ip_address any(ip_family f = ip_family::v4) noexcept {
    return f == ip_family::v4 ? ip_address{} : v6({});
  }
  static ip_address loopback(ip_family f = ip_family::v4) noexcept {
    if (f == ip_family::v4) return v4({127, 0, 0, 1});
    std::array<std::uint8_t, 16> b{};
    b[15] = 1;
    return v6(b);
  }

  /// Parses a numeric IPv4 ("127.0.0.1") or IPv6 ("::1", "fe80::1%lo")
  /// address, or "localhost" (127.0.0.1). Anything else is nullopt. A zone
  /// is an interface number or (not on Windows) an interface name.
  static std::optional<ip_address> try_parse(std::string_view text) {
    if (text == "localhost") return loopback();
    if (text.empty() || text.size() > 63) return std::nullopt;
    char buf[64];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    if (text.find(':') == std::string_view::npos) {
      std::array<std::uint8_t, 4> b{};
      if (::inet_pton(AF_INET, buf, b.data()) != 1) return std::nullopt;
      return v4(b);
    }
    std::uint32_t scope = 0;
    if (char* pct = std::strchr(buf, '%')) {
      *pct = '\0';
      std::string_view zone(pct + 1);
      if (zone.empty()) return std::nullopt;
      auto [end, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), scope);
      if (ec != std::errc{} || end != zone.data() + zone.size()) {
        scope = detail::if_name_to_index(pct + 1);  // (numbers only on Windows)
        if (scope == 0) return std::nullopt;
      }
    }
    std::array<std::uint8_t, 16> b{};
    if (::inet_pton(AF_INET6, buf, b.data()) != 1) return std::nullopt;
    return v6(b, scope);
  }

  /// As try_parse, but throws io_error (invalid_address, or needs_resolution
  /// for a host name: this version does not resolve DNS names).
  static ip_address parse(std::string_view text) {
    if (auto a = try_parse(text)) return *a;
    throw io_error(looks_like_name(text) ? io_errc::needs_resolution : io_errc::invalid_address,
                   looks_like_name(text)
                       ? "netaio: '" + std::string(text) +
                             "' is a host name; only numeric addresses and localhost are "
                             "accepted (DNS resolution is not supported yet)"
                       : "netaio: '" + std::string(text) + "' is not an IPv4 or IPv6 address");
  }

  ip_family family() const noexcept { return family_; }
  bool is_v4() const noexcept { return family_ == ip_family::v4; }
  bool is_v6() const noexcept { return family_ == ip_family::v6; }
  /// The address bytes, network order (4 for IPv4, 16 for IPv6).
  const std::uint8_t* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return is_v4() ? 4 : 16; }
  std::uint32_t scope_id() const noexcept { return scope_id_; }

  bool is_unspecified() const noexcept {
    for (std::size_t i = 0; i < size(); ++i)
      if (bytes_[i] != 0) return false;
    return true;
  }
  bool is_loopback() const noexcept {
    return is_v4() ? bytes_[0] == 127 : *this == loopback(ip_family::v6);
  }
  bool is_multicast() const noexcept {
    return is_v4() ? (bytes_[0] & 0xF0) == 0xE0 : bytes_[0] == 0xFF;
  }

  /// "127.0.0.1", "::1", "fe80::1%2".
  std::string to_string() const {
    char buf[INET6_ADDRSTRLEN + 16];
    ::inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
    std::string s(buf);
    if (scope_id_ != 0) s += '%' + std::to_string(scope_id_);
    return s;
  }

  friend bool operator==(const ip_address&, const ip_address&) = default;
  friend auto operator<=>(const ip_address&, const ip_address&) = default;

 private:
  static bool looks_like_name(std::string_view t) noexcept {
    if (t.empty()) return false;
    bool alpha = false;
    for (char c : t) {
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        alpha = true;
      } else if (!((c >= '0' && c <= '9') || c == '-' || c == '.')) {
        return false;
      }
    }
    return alpha;
  }

  ip_family family_ = ip_family::v4;
  std::array<std::uint8_t, 16> bytes_{};
  std::uint32_t scope_id_ = 0;
};

/// An address and a port: where a socket is bound or connected.
class endpoint {
 public:
  endpoint() noexcept = default;
  endpoint(ip_address address, std::uint16_t port) noexcept : address_(address), port_(port) {}

  /// Parses "host:port" or "[v6]:port", host numeric or "localhost".
  static std::optional<endpoint> try_parse(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (!split(text, host, port)) return std::nullopt;
    auto a = ip_address::try_parse(host);
    auto p = parse_port(port);
    if (!a || !p) return std::nullopt;
    return endpoint{*a, *p};
  }

  /// As try_parse; throws io_error (invalid_address, or needs_resolution for
  /// a DNS name) saying what is wrong.
  static endpoint parse(std::string_view text) {
    std::string_view host;
    std::string_view port;
    const std::string quoted = "netaio: '" + std::string(text) + "': ";
    if (!split(text, host, port)) {
      throw io_error(io_errc::invalid_address,
                     quoted + "expected host:port or [IPv6]:port (IPv6 needs brackets)");
    }
    auto p = parse_port(port);
    if (!p) throw io_error(io_errc::invalid_address, quoted + "the port must be 0..65535");
    try {
      return endpoint{ip_address::parse(host), *p};
    } catch (const io_error& e) {
      throw io_error(e.errc(), quoted + (e.what() + std::strlen("netaio: ")));
    }
  }

  const ip_address& address() const noexcept { return address_; }
  std::uint16_t port() const noexcept { return port_; }
  ip_family family() const noexcept { return address_.family(); }

  /// "127.0.0.1:80" or "[::1]:80".
  std::string to_string() const {
    if (address_.is_v4()) return address_.to_string() + ':' + std::to_string(port_);
    return '[' + address_.to_string() + "]:" + std::to_string(port_);
  }

  friend bool operator==(const endpoint&, const endpoint&) = default;
  friend auto operator<=>(const endpoint&, const endpoint&) = default;

 private:
  static bool split(std::string_view text, std::string_view& host, std::string_view& port) {
    if (!text.empty() && text.front() == '[') {
      auto close = text.find(']');
      if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
        return false;
      host = text.substr(1, close - 1);
      if (host.find(':') == std::string_view::npos) return false;
      port = text.substr(close + 2);
      return true;
    }
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return false;  // bare IPv6
    port = text.substr(colon + 1);
    return !host.empty();
  }
  static std::optional<std::uint16_t> parse_port(std::string_view s) {
    if (s.empty() || s.size() > 5) return std::nullopt;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
  }

  ip_address address_;
  std::uint16_t port_ = 0;
};

}  // namespace netaio::inline v0
