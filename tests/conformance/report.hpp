// Shared by the conformance runner's section checkers.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>

namespace conformance {

/// Collects results: each vector checked, and each mismatch printed as found.
class report {
 public:
  /// One vector of `section` (index `index`) was checked.
  void checked(std::string_view section) {
    sections_.emplace(section);
    ++checked_;
  }
  /// Vector `index` of `section` did not match; `what` says how.
  void mismatch(std::string_view section, std::size_t index, std::string_view what) {
    sections_.emplace(section);
    ++mismatches_;
    std::printf("MISMATCH %.*s[%zu]: %.*s\n", static_cast<int>(section.size()), section.data(),
                index, static_cast<int>(what.size()), what.data());
  }
  std::size_t checked_count() const { return checked_; }
  std::size_t mismatch_count() const { return mismatches_; }
  /// Whether any checker reported on `section` (checked or mismatched).
  bool touched(std::string_view section) const {
    return sections_.count(std::string(section)) != 0;
  }

 private:
  std::set<std::string> sections_;
  std::size_t checked_ = 0;
  std::size_t mismatches_ = 0;
};

/// Sections: packify, header, body, message, reject.
void check_wire_sections(const nlohmann::json& root, report& r);
/// Sections: derive_key, keystream, hmac, hmac_auth_plugin,
/// sha256_stream_cipher_plugin, peer_plugin, x25519.
void check_plugin_sections(const nlohmann::json& root, report& r);

}  // namespace conformance
