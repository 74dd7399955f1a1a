// Recycles coroutine frames per thread. A request through a node creates and
// ends a dozen short-lived frames; glibc's malloc/free pair costs ~150
// instructions each time, a free list here ~15. Frames are grouped by size
// in 64-byte classes up to 2 KiB, and a thread keeps at most 256 KiB of idle
// frames: beyond that, and for larger frames, the global operator new and
// delete are used. Under AddressSanitizer, or with NETAIO_NO_FRAME_POOL
// defined to 1, frames go straight to the global operators so that a use
// after free is still caught.
#pragma once

#include <cstddef>
#include <new>

#ifndef NETAIO_NO_FRAME_POOL
#if defined(__SANITIZE_ADDRESS__)
#define NETAIO_NO_FRAME_POOL 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NETAIO_NO_FRAME_POOL 1
#endif
#endif
#endif
#ifndef NETAIO_NO_FRAME_POOL
#define NETAIO_NO_FRAME_POOL 0
#endif

namespace netaio::inline v0::detail {

struct frame_pool {
  static constexpr std::size_t granule = 64;
  static constexpr std::size_t classes = 32;  // frames up to 2 KiB
  static constexpr std::size_t max_idle_bytes = 256 * 1024;

  struct free_block {
    free_block* next;
  };

  free_block* lists[classes];
  std::size_t idle_bytes;
  bool open;    // the thread's pool is in use (its cleanup is registered)
  bool closed;  // the thread is ending: give everything back to the heap

  static std::size_t class_of(std::size_t n) noexcept { return (n - 1) / granule; }

  void* take(std::size_t n) {
    const std::size_t c = class_of(n);
    if (c < classes) {
      if (free_block* b = lists[c]) {
        lists[c] = b->next;
        idle_bytes -= (c + 1) * granule;
        return b;
      }
      if (!open && !closed) register_cleanup();
      return ::operator new((c + 1) * granule);
    }
    return ::operator new(n);
  }

  void give(void* p, std::size_t n) noexcept {
    const std::size_t c = class_of(n);
    const std::size_t size = (c + 1) * granule;
    if (c >= classes || closed || !open || idle_bytes + size > max_idle_bytes) {
      ::operator delete(p);
      return;
    }
    auto* b = static_cast<free_block*>(p);
    b->next = lists[c];
    lists[c] = b;
    idle_bytes += size;
  }

  void release_all() noexcept {
    for (free_block*& head : lists) {
      while (free_block* b = head) {
        head = b->next;
        ::operator delete(b);
      }
    }
    idle_bytes = 0;
  }

  void register_cleanup();
};

// Constant-initialised and without a destructor, so it stays usable while
// other thread-local objects are destroyed (a frame freed then goes to the
// heap, see closed).
inline constinit thread_local frame_pool frame_pool_{};

struct frame_pool_cleanup {
  frame_pool_cleanup() noexcept { frame_pool_.open = true; }
  ~frame_pool_cleanup() {
    frame_pool_.closed = true;
    frame_pool_.open = false;
    frame_pool_.release_all();
  }
};

inline void frame_pool::register_cleanup() {
  // The first use constructs it on this thread and registers its destructor
  // with the thread's exit.
  static thread_local frame_pool_cleanup cleanup;
  (void)cleanup;
}

inline void* allocate_frame(std::size_t n) {
#if NETAIO_NO_FRAME_POOL
  // Rounded up as the pool rounds: translation units built with and without
  // the pool may be linked together (an inline function's definitions then
  // mix), and a pool that files this block under its size class must find
  // the whole class size there.
  const std::size_t c = frame_pool::class_of(n);
  return ::operator new(c < frame_pool::classes ? (c + 1) * frame_pool::granule : n);
#else
  return frame_pool_.take(n);
#endif
}

inline void deallocate_frame(void* p, std::size_t n) noexcept {
#if NETAIO_NO_FRAME_POOL
  (void)n;
  ::operator delete(p);
#else
  frame_pool_.give(p, n);
#endif
}

}  // namespace netaio::inline v0::detail
