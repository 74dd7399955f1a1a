// What every command of the netaio program shares: exit codes, the usage
// error, global options, and the parsing and printing of the values commands
// take and show (addresses, message types, hex, Python-style reprs).
#pragma once

#include <netaio/io/address.hpp>
#include <netaio/node/log.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/packify/value.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace netaio_cli {

using netaio::byte_buffer;
using netaio::byte_view;

/// Exit codes. 0..4 and 64 are issue 10's contract (scripts rely on them).
namespace exit_code {
inline constexpr int ok = 0;
/// decode: the frame is malformed; request: NOT_FOUND; send: the connection
/// failed after it was made.
inline constexpr int failed = 1;
/// request: ERROR or AUTH_ERROR answer.
inline constexpr int error_answer = 2;
inline constexpr int timeout = 3;
inline constexpr int cannot_connect = 4;
/// Bad usage or bad input: sysexits' EX_USAGE.
inline constexpr int usage = 64;
/// An internal failure (a bug): EX_SOFTWARE.
inline constexpr int software = 70;
}  // namespace exit_code

/// Bad input found after parsing (an address, a type name, a key): main
/// prints "netaio: WHAT" and exits 64.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// State shared by the program's commands: global options, the logger they
/// report to, and the action the chosen command runs once parsing is done.
struct app_state {
  int verbosity = 0;  ///< -v: info, -vv: debug
  netaio::logger log;
  std::function<int()> action;
};

/// Makes `fn` the program's action when `cmd` is the command given.
inline void on_run(CLI::App* cmd, app_state& st, std::function<int()> fn) {
  cmd->callback([&st, fn = std::move(fn)] { st.action = fn; });
}

/// Sets `cmd`'s help footer to an example (every command has one).
void add_example(CLI::App* cmd, std::string_view example);

/// "HOST:PORT" (numeric or localhost, IPv6 in brackets); usage_error otherwise.
netaio::endpoint parse_address(std::string_view text, std::string_view what = "address");

/// A message type: a number 0..255 or a default type's name in any case
/// (REQUEST_URI, request_uri); usage_error otherwise.
std::uint8_t parse_type(std::string_view text);
/// The default name of type `t` (REQUEST_URI), else its number.
std::string type_name(std::uint8_t t);

/// Lower-case hex of `b`.
std::string to_hex(byte_view b);
/// Bytes of hex `text`, whitespace ignored; nullopt when it is not hex.
std::optional<byte_buffer> from_hex(std::string_view text);

/// Everything on stdin.
byte_buffer read_stdin();
/// A file's bytes ("-": stdin); usage_error if it cannot be read.
byte_buffer read_input(const std::string& path);

/// Content given as text (C, or "-" for stdin) or as hex.
byte_buffer content_from(const CLI::Option* text_opt, const std::string& text,
                         const CLI::Option* hex_opt, const std::string& hex);

/// Seconds as a duration; usage_error if negative or not finite.
std::chrono::nanoseconds seconds(double s, std::string_view option);

/// A uri for one-line output: printable ASCII but space and backslash as is,
/// the rest as \xNN, empty as "-" (and "-" itself as \x2d), so a line
/// "TYPE URI HEX" always splits into three fields.
std::string field_text(byte_view uri);

/// Python's repr of bytes: b'abc\x00'.
std::string bytes_repr(byte_view b);
/// Python's repr of a packify value (the auth fields' dict, ...).
std::string value_repr(const netaio::packify::value& v);

/// Writes `b` to stdout and flushes (binary output, answers).
void write_out(byte_view b);
/// Writes `line` and a newline to stdout and flushes, so a script reading the
/// program's output sees each line as it comes.
void print_line(std::string_view line);
/// Writes "netaio: TEXT" and a newline to stderr.
void print_error(std::string_view text);

}  // namespace netaio_cli
