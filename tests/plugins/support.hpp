// Helpers for the plugins tests: the reference's vector file (hex lives in
// support/hex.hpp).
#pragma once

#include <netaio/wire/bytes.hpp>

#include "support/hex.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace plugins_test {

inline netaio::byte_buffer bytes_of(std::string_view s) {
  return netaio::to_buffer(netaio::as_bytes(s));
}

/// The parsed vector file (loaded once).
inline const nlohmann::json& vectors() {
  static const nlohmann::json root = [] {
    std::ifstream f(NETAIO_TEST_VECTORS);
    if (!f) throw std::runtime_error("cannot open " NETAIO_TEST_VECTORS);
    return nlohmann::json::parse(f);
  }();
  return root;
}

}  // namespace plugins_test
