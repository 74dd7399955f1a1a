// decode and encode: frames to text and back, with no network. With security
// options, encode seals the message as a sender would and decode checks and
// opens it as a receiver would.
#include "../messages.hpp"
#include "../security.hpp"
#include "commands.hpp"

#include <netaio/node/send.hpp>
#include <netaio/plugins/error.hpp>
#include <netaio/plugins/layers.hpp>
#include <netaio/wire/packify.hpp>

#include <cstdio>
#include <memory>

namespace netaio_cli {

namespace {

struct decode_options {
  std::string file = "-";
  bool hex = false;
  security_options security;
};

struct encode_options {
  std::string type;
  std::string uri;
  std::string content;
  std::string content_hex;
  CLI::Option* content_opt = nullptr;
  CLI::Option* content_hex_opt = nullptr;
  bool hex = false;
  security_options security;
};

void print_body(std::string_view prefix, const netaio::message& m) {
  print_line(std::string(prefix) + "uri: " + bytes_repr(m.body().uri()));
  print_line(std::string(prefix) + "content: " + bytes_repr(m.body().content()));
  print_line(std::string(prefix) + "content_hex: " + to_hex(m.body().content()));
}

// Why `data` is not one frame, in the wire layer's words; a frame cut short
// is said to be truncated, with the sizes.
std::string malformed_reason(const netaio::wire_error& e, std::size_t size) {
  using netaio::wire_errc;
  if (e.code() == wire_errc::header_too_short) {
    return "truncated: " + std::to_string(size) + " bytes, a header has 9";
  }
  if (e.code() == wire_errc::lengths_past_frame) {
    return "truncated: " + wire_reason(e).substr(std::string("lengths past frame: ").size());
  }
  return wire_reason(e);
}

int run_decode(const decode_options& o, app_state& st) {
  const auto layer = make_layer(o.security, st.log);
  byte_buffer data = read_input(o.file);
  if (o.hex) {
    auto b = from_hex(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
    if (!b) {
      print_error("malformed frame: the input is not hex");
      return exit_code::failed;
    }
    data = std::move(*b);
  }
  netaio::message m;
  try {
    m = netaio::message::decode(data);
  } catch (const netaio::wire_error& e) {
    print_error("malformed frame: " + malformed_reason(e, data.size()));
    return exit_code::failed;
  }
  const auto& h = m.header();
  const auto t = static_cast<std::uint8_t>(h.message_type());
  char sum[16];
  std::snprintf(sum, sizeof sum, "0x%08x", static_cast<unsigned>(h.checksum()));
  print_line("type: " + type_name(t) + " (" + std::to_string(t) + ")");
  print_line("auth_length: " + std::to_string(h.auth_length()));
  print_line("body_length: " + std::to_string(h.body_length()));
  print_line(std::string("checksum: ") + sum);
  // The auth section as the packify value it is (decode checked it).
  const byte_view auth = byte_view(data).subspan(9, h.auth_length());
  print_line("auth: " +
             (auth.empty() ? std::string("{}") : value_repr(netaio::packify::unpack(auth))));
  print_body("", m);

  if (!layer.auth && !layer.cipher) return exit_code::ok;
  try {
    auto opened = netaio::open_layers(m, {}, layer);
    if (!opened.message) {
      print_error("auth check failed: the frame is not authentic under the given secret");
      return exit_code::failed;
    }
    print_line("opened: ok");
    print_body("plain_", *opened.message);
  } catch (const netaio::plugin_error& e) {
    print_error(std::string("cannot decrypt: ") + e.what());
    return exit_code::failed;
  } catch (const netaio::wire_error& e) {
    print_error("cannot decrypt: " + wire_reason(e));
    return exit_code::failed;
  }
  return exit_code::ok;
}

int run_encode(const encode_options& o, app_state& st) {
  const std::uint8_t type = parse_type(o.type);
  const auto layer = make_layer(o.security, st.log);
  const byte_buffer content =
      content_from(o.content_opt, o.content, o.content_hex_opt, o.content_hex);
  netaio::message m = make_message(type, netaio::as_bytes(o.uri), content);
  if (layer.auth || layer.cipher) {
    auto sealed = netaio::prepare_message(std::move(m), {}, layer, {}, st.log);
    if (!sealed) return exit_code::failed;  // prepare_message said why
    m = std::move(*sealed);
  }
  byte_buffer frame;
  try {
    frame = m.encode();
  } catch (const netaio::wire_error& e) {
    throw usage_error("the message does not fit a frame: " + wire_reason(e));
  }
  if (o.hex) {
    print_line(to_hex(frame));
  } else {
    write_out(frame);
  }
  return exit_code::ok;
}

}  // namespace

void add_codec_commands(CLI::App& app, app_state& st) {
  {
    auto o = std::make_shared<decode_options>();
    auto* cmd = app.add_subcommand(
        "decode",
        "Read one frame (binary, or hex with --hex) and print its header, auth fields and "
        "body, or why it is malformed (exit 1). With security options, also check and open it.");
    cmd->add_option("FILE", o->file, "the frame's file, - for stdin (default)");
    cmd->add_flag("--hex", o->hex, "the input is hex (whitespace ignored)");
    add_security_options(cmd, o->security);
    add_example(cmd,
                "netaio encode --type REQUEST_URI --uri echo --content hi --hex | "
                "netaio decode --hex");
    on_run(cmd, st, [o, &st] { return run_decode(*o, st); });
  }
  {
    auto o = std::make_shared<encode_options>();
    auto* cmd = app.add_subcommand(
        "encode",
        "Write one frame to stdout (binary, or hex with --hex). With security options, sealed "
        "as a sender would.");
    cmd->add_option("--type", o->type, "message type: a number or a name such as REQUEST_URI")
        ->required();
    cmd->add_option("--uri", o->uri, "the uri")->required();
    o->content_opt = cmd->add_option("--content", o->content, "the content as text; - reads stdin");
    o->content_hex_opt = cmd->add_option("--content-hex", o->content_hex, "the content as hex")
                             ->excludes(o->content_opt);
    cmd->add_flag("--hex", o->hex, "write the frame as hex and a newline");
    add_security_options(cmd, o->security);
    add_example(cmd, "netaio encode --type request_uri --uri echo --content hello > frame.bin");
    on_run(cmd, st, [o, &st] { return run_encode(*o, st); });
  }
}

}  // namespace netaio_cli
