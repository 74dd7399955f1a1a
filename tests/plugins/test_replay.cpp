// replay_guard: window, reuse, and bounded memory.
#include <doctest/doctest.h>
#include <netaio/plugins/replay_guard.hpp>

#include "plugins/support.hpp"

#include <string>

using namespace netaio;
using plugins_test::bytes_of;

namespace {
byte_buffer nonce_n(std::size_t i) {
  return bytes_of("nonce-" + std::to_string(i));
}
}  // namespace

TEST_CASE("replay_guard: a fresh nonce in the window is accepted once") {
  replay_guard g({.window_seconds = 30, .max_nonces = 100});
  CHECK(g.admit(1000, nonce_n(1), 1000) == replay_verdict::fresh);
  CHECK(g.admit(1000, nonce_n(1), 1001) == replay_verdict::replayed);
  CHECK(g.admit(1005, nonce_n(1), 1010) == replay_verdict::replayed);  // other ts, same nonce
  CHECK(g.admit(1000, nonce_n(2), 1001) == replay_verdict::fresh);
}

TEST_CASE("replay_guard: ts outside the window is stale, both ways") {
  replay_guard g({.window_seconds = 30, .max_nonces = 100});
  CHECK(g.admit(969, nonce_n(1), 1000) == replay_verdict::stale);
  CHECK(g.admit(1031, nonce_n(2), 1000) == replay_verdict::stale);
  CHECK(g.admit(970, nonce_n(3), 1000) == replay_verdict::fresh);
  CHECK(g.admit(1030, nonce_n(4), 1000) == replay_verdict::fresh);
  CHECK(g.size() == 2);
}

TEST_CASE("replay_guard: nonces are forgotten once their ts leaves the window") {
  replay_guard g({.window_seconds = 10, .max_nonces = 100});
  CHECK(g.admit(100, nonce_n(1), 100) == replay_verdict::fresh);
  CHECK(g.size() == 1);
  // Later, the old message is stale anyway, and its memory is gone.
  CHECK(g.admit(100, nonce_n(1), 111) == replay_verdict::stale);
  CHECK(g.size() == 0);
}

TEST_CASE("replay_guard: memory stays bounded and no replay gets through when full") {
  constexpr std::size_t cap = 64;
  replay_guard g({.window_seconds = 1000, .max_nonces = cap});
  const std::int64_t now = 10'000;
  for (std::size_t i = 0; i < 10 * cap; ++i) {
    const auto ts = now - 500 + static_cast<std::int64_t>(i);  // increasing, all in window
    REQUIRE(g.admit(ts, nonce_n(i), now) == replay_verdict::fresh);
    REQUIRE(g.size() <= cap);
  }
  CHECK(g.size() == cap);
  // Every nonce ever admitted is refused again: either still remembered, or
  // below the floor left by evictions.
  for (std::size_t i = 0; i < 10 * cap; ++i) {
    const auto ts = now - 500 + static_cast<std::int64_t>(i);
    REQUIRE(g.admit(ts, nonce_n(i), now) != replay_verdict::fresh);
  }
  CHECK(g.size() == cap);
}

TEST_CASE("replay_guard: with no memory at all, nothing is accepted twice") {
  replay_guard g({.window_seconds = 100, .max_nonces = 0});
  CHECK(g.admit(1000, nonce_n(1), 1000) == replay_verdict::fresh);
  CHECK(g.admit(1000, nonce_n(1), 1000) == replay_verdict::stale);
  CHECK(g.admit(1001, nonce_n(2), 1001) == replay_verdict::fresh);
  CHECK(g.size() == 0);
}
