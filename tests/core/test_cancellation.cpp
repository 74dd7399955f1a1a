#include <netaio/core/cancellation.hpp>

#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <vector>

using namespace netaio;

TEST_CASE("cancel_callback runs once, in registration order") {
  cancel_source src;
  std::vector<int> order;
  cancel_callback a{src.token(), [&] { order.push_back(1); }};
  cancel_callback b{src.token(), [&] { order.push_back(2); }};
  CHECK_FALSE(src.cancelled());
  CHECK(src.cancel());
  CHECK_FALSE(src.cancel());
  CHECK(order == std::vector<int>{1, 2});
}

TEST_CASE("a callback registered after cancellation runs at once") {
  cancel_source src;
  src.cancel();
  int runs = 0;
  cancel_callback cb{src.token(), [&] { ++runs; }};
  CHECK(runs == 1);
}

TEST_CASE("a destroyed callback never runs") {
  cancel_source src;
  int runs = 0;
  {
    cancel_callback cb{src.token(), [&] { ++runs; }};
  }
  src.cancel();
  CHECK(runs == 0);
}

TEST_CASE("a callback may deregister a later one while cancellation runs") {
  cancel_source src;
  int later_runs = 0;
  std::optional<cancel_callback<std::function<void()>>> later;
  cancel_callback first{src.token(), [&] { later.reset(); }};
  later.emplace(src.token(), std::function<void()>{[&] { ++later_runs; }});
  src.cancel();
  CHECK(later_runs == 0);
}

TEST_CASE("a linked child follows its parent, and not the other way") {
  cancel_source parent;
  cancel_source child{parent.token()};
  cancel_source other{parent.token()};
  other.cancel();
  CHECK_FALSE(parent.cancelled());
  CHECK_FALSE(child.cancelled());
  parent.cancel();
  CHECK(child.cancelled());
}

TEST_CASE("a child linked to a cancelled parent starts cancelled; unlink detaches") {
  cancel_source parent;
  parent.cancel();
  cancel_source child{parent.token()};
  CHECK(child.cancelled());

  cancel_source p2;
  cancel_source c2{p2.token()};
  c2.unlink();
  p2.cancel();
  CHECK_FALSE(c2.cancelled());
}

TEST_CASE("an empty token is never cancelled") {
  cancel_token t;
  CHECK_FALSE(t.can_be_cancelled());
  CHECK_FALSE(t.cancelled());
  CHECK_NOTHROW(t.throw_if_cancelled());
}
