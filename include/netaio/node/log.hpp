// The node layer's logging: four levels, one replaceable sink, and no
// formatting at all for records below the threshold.
#pragma once

#include <netaio/wire/keys.hpp>

#include <concepts>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace netaio::inline v0 {

/// How much a log record matters, least first.
enum class log_level : std::uint8_t { debug, info, warning, error };

/// "debug", "info", "warning" or "error".
constexpr std::string_view to_string(log_level l) noexcept {
  switch (l) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warning:
      return "warning";
    case log_level::error:
      return "error";
  }
  return "?";
}

/// Receives every record that passes the logger's threshold: its level, its
/// text, and the address of the peer it concerns (nullopt if none).
using log_sink =
    std::function<void(log_level, std::string_view, const std::optional<peer_address>&)>;

/// "host:port", or "[host]:port" for an IPv6 host.
inline std::string to_string(const peer_address& a) {
  const bool v6 = a.first.find(':') != std::string::npos;
  std::string s;
  s.reserve(a.first.size() + 8);
  if (v6) s += '[';
  s += a.first;
  if (v6) s += ']';
  s += ':';
  s += std::to_string(a.second);
  return s;
}

/// The default sink: one line per record on stderr, "netaio: warning: [peer] text".
inline void stderr_sink(log_level l, std::string_view text, const std::optional<peer_address>& p) {
  std::string line = "netaio: ";
  line += to_string(l);
  line += ": ";
  if (p) {
    line += '[';
    line += to_string(*p);
    line += "] ";
  }
  line += text;
  line += '\n';
  // One write per record, so records from several loops do not interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

namespace detail {

inline void log_append(std::string& out, std::string_view s) {
  out += s;
}
inline void log_append(std::string& out, char c) {
  out += c;
}
inline void log_append(std::string& out, const peer_address& a) {
  out += to_string(a);
}
template <class T>
requires(std::integral<T> && !std::same_as<T, char> &&
         !std::same_as<T, bool>) void log_append(std::string& out, T v) {
  out += std::to_string(v);
}
inline void log_append(std::string& out, bool v) {
  out += v ? "true" : "false";
}

// A part that is a callable is formatted only when the record is written:
// the way to pass something expensive to describe.
template <class P>
void log_part(std::string& out, const P& p) {
  if constexpr (std::is_invocable_v<const P&>) {
    log_part(out, p());
  } else if constexpr (std::is_convertible_v<const P&, std::string_view>) {
    log_append(out, std::string_view(p));
  } else {
    log_append(out, p);
  }
}

}  // namespace detail

/// A level threshold in front of a sink. Records below the threshold cost one
/// comparison: their parts are neither formatted nor concatenated.
class logger {
 public:
  /// Writes to stderr, silent below warning.
  logger() : sink_(stderr_sink), threshold_(log_level::warning) {}
  /// Sends records at `threshold` and above to `sink` (an empty sink: silent).
  explicit logger(log_sink sink, log_level threshold = log_level::debug)
      : sink_(std::move(sink)), threshold_(threshold) {}

  /// Replaces the sink (an empty one silences the logger).
  void set_sink(log_sink sink) { sink_ = std::move(sink); }
  /// Records below `l` are dropped unformatted.
  void set_level(log_level l) noexcept { threshold_ = l; }
  log_level level() const noexcept { return threshold_; }

  /// Whether a record at `l` would reach the sink.
  bool enabled(log_level l) const noexcept { return l >= threshold_ && sink_; }

  /// Writes the concatenation of `parts` (strings, integers, peer addresses,
  /// or callables returning one of those) if `l` passes the threshold.
  template <class... Parts>
  void log(log_level l, const std::optional<peer_address>& peer, const Parts&... parts) const {
    if (!enabled(l)) return;
    std::string text;
    (detail::log_part(text, parts), ...);
    sink_(l, text, peer);
  }

  template <class... Parts>
  void debug(const std::optional<peer_address>& peer, const Parts&... parts) const {
    log(log_level::debug, peer, parts...);
  }
  template <class... Parts>
  void info(const std::optional<peer_address>& peer, const Parts&... parts) const {
    log(log_level::info, peer, parts...);
  }
  template <class... Parts>
  void warning(const std::optional<peer_address>& peer, const Parts&... parts) const {
    log(log_level::warning, peer, parts...);
  }
  template <class... Parts>
  void error(const std::optional<peer_address>& peer, const Parts&... parts) const {
    log(log_level::error, peer, parts...);
  }

 private:
  log_sink sink_;
  log_level threshold_;
};

}  // namespace netaio::inline v0
