// libFuzzer target: the frame reader over a stream of frames, and message
// decode of a datagram. Any input parses, waits for more or is rejected with
// a wire_errc; accepted frames decode and re-encode to an equal message; a
// rejected frame said to be skippable lies wholly in the input, and reading
// goes on after it.
#include <netaio/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace netaio;
  const byte_view in(data, size);
  const frame_reader reader(4096);
  byte_view rest = in;
  while (!rest.empty()) {
    const auto r = reader.parse(rest);
    if (r.status == frame_status::incomplete) {
      if (r.needed <= rest.size()) std::abort();
      break;
    }
    if (r.status == frame_status::malformed) {
      if (r.error == wire_errc{}) std::abort();
      if (!r.skippable()) break;
      if (r.needed < header::header_length() || r.needed > rest.size()) std::abort();
      if (r.error == wire_errc::frame_too_large || r.error == wire_errc::unknown_message_type)
        std::abort();
      rest = rest.subspan(r.needed);
      continue;
    }
    if (r.needed == 0 || r.needed > rest.size() || r.frame.bytes.data() != rest.data())
      std::abort();
    message m = r.to_message();
    if (!m.check()) std::abort();
    const byte_buffer enc = m.encode();
    if (!(message::decode(enc) == m)) std::abort();
    rest = rest.subspan(r.needed);
  }
  try {
    message m = message::decode(in);
    if (!(message::decode(m.encode()) == m)) std::abort();
  } catch (const wire_error&) {
  }
  return 0;
}
