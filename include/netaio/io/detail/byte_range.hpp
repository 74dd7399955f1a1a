// Which buffers socket operations accept: any contiguous, sized range of
// one-byte elements (std::vector<std::uint8_t>, std::string, std::span<std::byte>, ...).
#pragma once

#include <cstdint>
#include <ranges>
#include <span>
#include <type_traits>

namespace netaio::inline v0::detail {

template <class T>
concept byte_like = sizeof(T) == 1 && std::is_trivially_copyable_v<T> &&
                    !std::is_same_v<std::remove_cv_t<T>, bool>;

template <class R>
concept const_byte_range = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
    byte_like<std::ranges::range_value_t<R>>;

template <class R>
concept mutable_byte_range = const_byte_range<R> &&
    !std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<R>>>;

template <mutable_byte_range R>
std::span<std::uint8_t> writable_bytes(R&& r) noexcept {
  return {reinterpret_cast<std::uint8_t*>(std::ranges::data(r)), std::ranges::size(r)};
}
template <const_byte_range R>
std::span<const std::uint8_t> readable_bytes(R&& r) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(std::ranges::data(r)), std::ranges::size(r)};
}

}  // namespace netaio::inline v0::detail
