// Replaces the global operator new/delete with counting ones, so a test can
// assert that a hot path allocates nothing. Include from exactly one file of
// a test executable. Sanitizers bring their own operator new: there the
// counting is off (NETAIO_TEST_COUNT_ALLOCATIONS is 0) and the count stays 0.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define NETAIO_TEST_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NETAIO_TEST_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef NETAIO_TEST_COUNT_ALLOCATIONS
#define NETAIO_TEST_COUNT_ALLOCATIONS 1
#endif

namespace test {
inline std::atomic<std::size_t> allocations{0};
}  // namespace test

#if NETAIO_TEST_COUNT_ALLOCATIONS
// (g++ mistakes the replaced operators' free() for a mismatched deallocation.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  test::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  test::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
#endif
