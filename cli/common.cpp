#include "common.hpp"

#include <netaio/io/error.hpp>
#include <netaio/wire/message_type.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

namespace netaio_cli {

void add_example(CLI::App* cmd, std::string_view example) {
  cmd->footer("Example:\n  " + std::string(example));
}

netaio::endpoint parse_address(std::string_view text, std::string_view what) {
  try {
    return netaio::endpoint::parse(text);
  } catch (const netaio::io_error& e) {
    // e.what() already quotes the text and says what is wrong with it.
    std::string_view why = e.what();
    if (why.starts_with("netaio: ")) why.remove_prefix(8);
    throw usage_error("bad " + std::string(what) + " " + std::string(why));
  }
}

std::uint8_t parse_type(std::string_view text) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (!text.empty() && ec == std::errc{} && end == text.data() + text.size()) {
    if (v > 255) throw usage_error("message type " + std::string(text) + " is not 0..255");
    return static_cast<std::uint8_t>(v);
  }
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (unsigned t = 0; t <= netaio::max_reserved_message_type; ++t) {
    const auto name = netaio::default_message_type_name(static_cast<std::uint8_t>(t));
    if (!name.empty() && name == upper) return static_cast<std::uint8_t>(t);
  }
  throw usage_error("unknown message type '" + std::string(text) +
                    "' (a number 0..255 or a name such as REQUEST_URI)");
}

std::string type_name(std::uint8_t t) {
  const auto name = netaio::default_message_type_name(t);
  return name.empty() ? std::to_string(t) : std::string(name);
}

std::string to_hex(byte_view b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (const std::uint8_t c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

std::optional<byte_buffer> from_hex(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  byte_buffer out;
  int high = -1;
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    const int n = nibble(c);
    if (n < 0) return std::nullopt;
    if (high < 0) {
      high = n;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | n));
      high = -1;
    }
  }
  if (high >= 0) return std::nullopt;  // an odd number of digits
  return out;
}

namespace {
byte_buffer read_stream(std::FILE* f, const std::string& name) {
  byte_buffer out;
  std::uint8_t buf[65536];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f);
    out.insert(out.end(), buf, buf + n);
    if (n < sizeof buf) break;
  }
  if (std::ferror(f)) throw usage_error("cannot read " + name + ": " + std::strerror(errno));
  return out;
}
}  // namespace

byte_buffer read_stdin() {
  return read_stream(stdin, "stdin");
}

byte_buffer read_input(const std::string& path) {
  if (path == "-") return read_stdin();
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw usage_error("cannot open " + path + ": " + std::strerror(errno));
  try {
    byte_buffer b = read_stream(f, path);
    std::fclose(f);
    return b;
  } catch (...) {
    std::fclose(f);
    throw;
  }
}

byte_buffer content_from(const CLI::Option* text_opt, const std::string& text,
                         const CLI::Option* hex_opt, const std::string& hex) {
  if (hex_opt && hex_opt->count() > 0) {
    auto b = from_hex(hex);
    if (!b) throw usage_error("--content-hex is not hex: '" + hex + "'");
    return *b;
  }
  if (text_opt && text_opt->count() > 0) {
    if (text == "-") return read_stdin();
    return netaio::to_buffer(netaio::as_bytes(text));
  }
  return {};
}

std::chrono::nanoseconds seconds(double s, std::string_view option) {
  // Past about 292 years nanoseconds overflow; a day is a generous bound.
  if (!std::isfinite(s) || s < 0 || s > 86400.0 * 365) {
    throw usage_error(std::string(option) + " must be a number of seconds from 0 to a year");
  }
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

std::string field_text(byte_view uri) {
  if (uri.empty()) return "-";
  static constexpr char digits[] = "0123456789abcdef";
  const bool dash = uri.size() == 1 && uri[0] == '-';
  std::string s;
  for (const std::uint8_t c : uri) {
    if (c > 0x20 && c < 0x7f && c != '\\' && !dash) {
      s += static_cast<char>(c);
    } else {
      s += "\\x";
      s += digits[c >> 4];
      s += digits[c & 15];
    }
  }
  return s;
}

std::string bytes_repr(byte_view b) {
  static constexpr char digits[] = "0123456789abcdef";
  // Python picks double quotes when the bytes hold a ' and no ".
  const bool has_single = std::find(b.begin(), b.end(), '\'') != b.end();
  const bool has_double = std::find(b.begin(), b.end(), '"') != b.end();
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string s = "b";
  s += quote;
  for (const std::uint8_t c : b) {
    switch (c) {
      case '\\':
        s += "\\\\";
        continue;
      case '\n':
        s += "\\n";
        continue;
      case '\r':
        s += "\\r";
        continue;
      case '\t':
        s += "\\t";
        continue;
      default:
        break;
    }
    if (c == static_cast<std::uint8_t>(quote)) {
      s += '\\';
      s += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      s += static_cast<char>(c);
    } else {
      s += "\\x";
      s += digits[c >> 4];
      s += digits[c & 15];
    }
  }
  s += quote;
  return s;
}

namespace {
// Python's repr of a str, close enough for field names and values in auth
// fields: quotes and backslashes escaped, control characters as \xNN.
std::string str_repr(std::string_view t) {
  static constexpr char digits[] = "0123456789abcdef";
  const bool has_single = t.find('\'') != std::string_view::npos;
  const bool has_double = t.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string s(1, quote);
  for (const char ch : t) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == quote || ch == '\\') {
      s += '\\';
      s += ch;
    } else if (ch == '\n') {
      s += "\\n";
    } else if (ch == '\t') {
      s += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      s += "\\x";
      s += digits[c >> 4];
      s += digits[c & 15];
    } else {
      s += ch;  // UTF-8 passes through, as Python prints printable text
    }
  }
  s += quote;
  return s;
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  // The shortest text that reads back as d, as Python's repr gives.
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}
}  // namespace

std::string value_repr(const netaio::packify::value& v) {
  using netaio::packify::kind;
  auto seq = [&](const char* open, const char* close, bool one_comma) {
    std::string s = open;
    const auto& items = v.items();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) s += ", ";
      s += value_repr(items[i]);
    }
    if (one_comma && items.size() == 1) s += ',';
    s += close;
    return s;
  };
  switch (v.type()) {
    case kind::none:
      return "None";
    case kind::boolean:
      return v.as_bool() ? "True" : "False";
    case kind::integer:
      return v.as_big_int().to_decimal();
    case kind::floating:
      return float_repr(v.as_double());
    case kind::string:
      return str_repr(v.as_string());
    case kind::bytes:
      return bytes_repr(v.as_bytes());
    case kind::bytearray:
      return "bytearray(" + bytes_repr(v.as_bytes()) + ")";
    case kind::list:
      return seq("[", "]", false);
    case kind::tuple:
      return seq("(", ")", true);
    case kind::set:
      return v.items().empty() ? std::string("set()") : seq("{", "}", false);
    case kind::dict: {
      std::string s = "{";
      bool first = true;
      for (const auto& [k, val] : v.pairs()) {
        if (!first) s += ", ";
        first = false;
        s += value_repr(k);
        s += ": ";
        s += value_repr(val);
      }
      s += '}';
      return s;
    }
  }
  return "?";
}

void write_out(byte_view b) {
  if (!b.empty()) std::fwrite(b.data(), 1, b.size(), stdout);
  std::fflush(stdout);
}

void print_line(std::string_view line) {
  std::string s(line);
  s += '\n';
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

void print_error(std::string_view text) {
  std::string s = "netaio: ";
  s += text;
  s += '\n';
  std::fwrite(s.data(), 1, s.size(), stderr);
}

}  // namespace netaio_cli
