// What the POSIX backends (epoll, kqueue, io_uring) share: the table of
// registered descriptors that the kernel's reports point into, the errno ->
// io_error conversion of their setup calls, and the readiness step that
// re-runs a waiting operation.
#pragma once

#include <netaio/io/detail/reactor_op.hpp>
#include <netaio/io/error.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

namespace netaio::inline v0::detail {

/// Throws the io_error for a failed backend call `what` with errno `e`:
/// too_many_open_files when the process or system ran out of descriptors.
[[noreturn]] inline void throw_backend_error(int e, const char* what) {
  throw io_error(e == EMFILE || e == ENFILE ? io_errc::too_many_open_files : io_errc::system,
                 std::string("netaio: ") + what + " failed: " + std::system_category().message(e),
                 std::error_code(e, std::system_category()));
}

/// Readiness edge for the operation waiting in `waiter` (null: none): runs
/// its syscall step, and when that finishes it, empties the slot and
/// resumes the task. Returns 1 when the edge was progress: the op ran,
/// finished or not (a partial write or read moved bytes; an op that takes
/// an edge and still waits counts too, since the next turn may bring the
/// rest). A loop with a virtual clock must not take such a turn for an idle
/// one and jump its clock while the transfer is under way.
inline std::size_t run_waiter(reactor_op*& waiter) noexcept {
  reactor_op* op = waiter;
  if (op == nullptr) return 0;
  if (op->perform_(op)) {
    waiter = nullptr;
    op->complete();
  }
  return 1;
}

/// A backend's registrations, which the kernel's reports name by token:
/// each registered descriptor has a slot, and each slot a generation that
/// changes whenever it is freed, so that a report still in the kernel's
/// queue for a closed socket (or one registered elsewhere: a dup, a fork's
/// child) is told from a report for the socket that took the slot next, and
/// dropped. A token is generation << IndexBits | index, in a `Token`
/// (whatever the kernel carries back: epoll's u64, kqueue's udata). The
/// index with every bit set is never a slot, so the all-ones token is free
/// for a backend's own use (its wake-ups).
///
/// add() is two steps, so that a kernel call in between that fails leaves
/// nothing behind and one that succeeds cannot be followed by a failure:
/// reserve() makes room (and may throw), take() cannot fail. remove()
/// never allocates (it runs in destructors and close()).
template <class Token, unsigned IndexBits>
class registration_table {
  static_assert(IndexBits < sizeof(Token) * 8 && IndexBits <= 32);

 public:
  static constexpr Token index_mask = (Token{1} << IndexBits) - 1;
  /// The generation's bits in a token (at most 32: the rest wrap).
  static constexpr std::uint32_t gen_mask =
      (~Token{0} >> IndexBits) >= 0xffffffffu ? 0xffffffffu
                                              : static_cast<std::uint32_t>(~Token{0} >> IndexBits);

  struct slot {
    fd_state* state;     // null while free
    std::uint32_t gen;   // of the registration in it (or the next one, while free)
    std::uint8_t flags;  // the backend's own, per registration (io_uring: polls armed)
  };
  /// Where the next registration goes: its slot and that slot's generation.
  struct place {
    std::uint32_t index;
    std::uint32_t gen;
  };

  static Token token(place p) noexcept {
    return (static_cast<Token>(p.gen) << IndexBits) | static_cast<Token>(p.index);
  }

  /// Makes room for one more registration and says where it will go;
  /// nothing is taken until take(). Throws io_error(too_many_open_files)
  /// when every index is in use, std::bad_alloc.
  place reserve() {
    if (free_.empty() && slots_.size() == slots_.capacity()) {
      std::size_t cap = slots_.empty() ? 64 : 2 * slots_.size();
      if (cap > index_mask) cap = static_cast<std::size_t>(index_mask);
      if (cap == slots_.size()) throw_backend_error(EMFILE, "registration");
      slots_.reserve(cap);
      free_.reserve(cap);  // room for every slot: remove() never allocates
    }
    if (!free_.empty()) return {free_.back(), slots_[free_.back()].gen};
    return {static_cast<std::uint32_t>(slots_.size()), 0};
  }
  /// Registers `s` where the last reserve() said (with no other change to
  /// the table in between). Never throws: the room is there.
  void take(place p, fd_state& s) noexcept {
    if (p.index == slots_.size()) {
      slots_.push_back({&s, 0, 0});
    } else {
      free_.pop_back();
      slots_[p.index].state = &s;
      slots_[p.index].flags = 0;
    }
    s.slot = p.index;
  }
  /// Frees the slot of `s` (registered here); reports still carrying its
  /// generation are dropped from now on.
  void release(fd_state& s) noexcept {
    slot& e = slots_[s.slot];
    e.state = nullptr;
    e.flags = 0;
    e.gen = (e.gen + 1) & gen_mask;
    free_.push_back(s.slot);  // never allocates: reserved with the slot
  }

  /// The slot a report names, or null when the report is stale (its
  /// registration is gone) or names no slot.
  slot* find(std::uint32_t index, std::uint32_t gen) noexcept {
    if (index >= slots_.size()) return nullptr;
    slot& e = slots_[index];
    return e.gen == gen && e.state != nullptr ? &e : nullptr;
  }
  /// The registration a token names, or null (stale: drop the report).
  fd_state* find(Token t) const noexcept {
    const auto index = static_cast<std::uint32_t>(t & index_mask);
    if (index >= slots_.size()) return nullptr;
    const slot& e = slots_[index];  // a free slot's state is null
    return e.gen == static_cast<std::uint32_t>((t >> IndexBits) & gen_mask) ? e.state : nullptr;
  }
  slot& operator[](std::uint32_t index) noexcept { return slots_[index]; }

  /// Every slot, live or free (a free one has a null state).
  const std::vector<slot>& slots() const noexcept { return slots_; }

 private:
  std::vector<slot> slots_;
  std::vector<std::uint32_t> free_;  // capacity >= slots_.size()
};

}  // namespace netaio::inline v0::detail
