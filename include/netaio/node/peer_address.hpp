// Between the io layer's endpoints and the (host, port) peer addresses that
// handler keys and peers carry (the reference keys peers by asyncio's
// peername tuple).
#pragma once

#include <netaio/io/address.hpp>
#include <netaio/io/error.hpp>
#include <netaio/wire/keys.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace netaio::inline v0 {

/// The peer address of `ep`: its address as text and its port, e.g.
/// ("127.0.0.1", 8888) or ("::1", 8888). IPv6 addresses are in the compact
/// form, without brackets; a scope is its interface index ("fe80::1%2"), so
/// no lookup is made (Python writes the interface's name; peer addresses
/// never travel, so only the local node sees the difference). An IPv4-mapped
/// IPv6 address stays as it is ("::ffff:10.0.0.1"), as in Python.
inline peer_address to_peer_address(const endpoint& ep) {
  const ip_address& ip = ep.address();
  if (!ip.is_v4()) return {ip.to_string(), ep.port()};
  // IPv4 by hand: inet_ntop formats through sprintf, and a UDP node names
  // the sender of every datagram.
  char text[16];
  char* p = text;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i != 0) *p++ = '.';
    const unsigned v = ip.data()[i];
    if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
    *p++ = static_cast<char>('0' + v % 10);
  }
  return {std::string(text, p), ep.port()};
}

/// The endpoint `a` names; nullopt unless its host is a numeric IPv4 or
/// IPv6 address (with an optional %scope, by index or name) or "localhost".
inline std::optional<endpoint> try_to_endpoint(const peer_address& a) {
  const std::optional<ip_address> ip = ip_address::try_parse(a.first);
  if (!ip) return std::nullopt;
  return endpoint{*ip, a.second};
}

/// The endpoint `a` names. Throws io_error: invalid_address, or
/// needs_resolution for a host name (DNS names are not resolved).
inline endpoint to_endpoint(const peer_address& a) {
  try {
    return endpoint{ip_address::parse(a.first), a.second};
  } catch (const io_error& e) {
    throw io_error(e.errc(), std::string(e.what()) + " (peer address (" + a.first + ", " +
                                 std::to_string(a.second) + "))");
  }
}

}  // namespace netaio::inline v0
