// libFuzzer target: the packify decoder. Any input either decodes or raises
// wire_error; validate() agrees with unpack(); decoded values re-encode stably.
#include <netaio/wire/packify.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace netaio;
  const byte_view in(data, size);
  bool unpacked = false, validated = false;
  wire_errc unpack_err{}, validate_err{};
  packify::value v;
  try {
    v = packify::unpack(in);
    unpacked = true;
  } catch (const wire_error& e) {
    unpack_err = e.code();
  }
  try {
    (void)packify::validate(in);
    validated = true;
  } catch (const wire_error& e) {
    validate_err = e.code();
  }
  if (unpacked != validated || unpack_err != validate_err) std::abort();
  if (!unpacked) return 0;
  const byte_buffer once = packify::pack(v);
  const packify::value again = packify::unpack(once);
  if (packify::pack(again) != once) std::abort();
  return 0;
}
