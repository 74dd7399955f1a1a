// A program may link translation units built with the frame pool and
// without it (one built with AddressSanitizer, or with
// NETAIO_NO_FRAME_POOL=1): the allocation of one may then meet the
// deallocation of the other. This file is built without the pool and hands
// its frames to a pool, as a mixed program would.
#define NETAIO_NO_FRAME_POOL 1

#include <doctest/doctest.h>
#include <netaio/core.hpp>

#include <cstring>
#include <new>

using netaio::detail::frame_pool;

TEST_CASE("a frame allocated without the pool is whole when a pool reuses it") {
  for (const std::size_t n : {1, 63, 64, 65, 100, 1000, 2047, 2048}) {
    CAPTURE(n);
    void* p = netaio::detail::allocate_frame(n);
    frame_pool pool{};  // a pool of its own, not this thread's
    pool.open = true;
    pool.give(p, n);  // filed under n's size class
    const std::size_t whole = (frame_pool::class_of(n) + 1) * frame_pool::granule;
    void* q = pool.take(whole);  // the largest frame of that class
    REQUIRE(q == p);
    // The whole class size is there (AddressSanitizer reports an overflow
    // if the block was only n bytes).
    std::memset(q, 0xab, whole);
    pool.open = false;
    ::operator delete(q);
  }
}

TEST_CASE("frames past the pool's largest class are allocated at their size") {
  void* p = netaio::detail::allocate_frame(frame_pool::classes * frame_pool::granule + 1);
  std::memset(p, 0, frame_pool::classes * frame_pool::granule + 1);
  netaio::detail::deallocate_frame(p, frame_pool::classes * frame_pool::granule + 1);
}
