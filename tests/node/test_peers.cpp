// The peer table (seed 003: grace period, no removal under an iteration, no
// state left after clear) and the peer-management handlers through the
// pipeline.
#include <doctest/doctest.h>
#include <netaio/core.hpp>
#include <netaio/node/peer_messages.hpp>
#include <netaio/plugins.hpp>

#include "node/router_support.hpp"
#include "support/run.hpp"

#include <string>
#include <vector>

using namespace netaio;
using namespace node_test;

namespace {

const peer_address addr1{"10.0.0.1", 1};
const peer_address addr2{"10.0.0.2", 2};
const peer_address addr3{"10.0.0.3", 3};

byte_buffer id_of(std::string_view s) {
  return to_buffer(as_bytes(s));
}

}  // namespace

TEST_CASE("peer table: add, refresh, look up; the local id is never added") {
  peer_table t({}, id_of("me"));
  CHECK_FALSE(t.add_or_update(id_of("me"), id_of("d"), addr1, 0));
  CHECK(t.empty());
  CHECK(t.add_or_update(id_of("a"), id_of("data a"), addr1, 10));
  CHECK(t.add_or_update(id_of("a"), std::nullopt, addr2, 20));  // data kept, address added
  REQUIRE(t.get(addr2));
  const peer& a = *t.get(addr2);
  CHECK(a.id == id_of("a"));
  CHECK(a.data == id_of("data a"));
  CHECK(a.addrs == std::set<peer_address>{addr1, addr2});
  CHECK(a.last_rx == 20);
  // By id first, then by address (the reference's get_peer).
  CHECK(t.add_or_update(id_of("b"), id_of("data b"), addr3, 20));
  CHECK(t.get(addr3, id_of("a"))->id == id_of("a"));
  CHECK(t.get(addr3, id_of("nobody"))->id == id_of("b"));
  CHECK(t.get(std::nullopt, id_of("nobody")) == nullptr);
  // An address taken over by another peer leaves the first one.
  CHECK(t.add_or_update(id_of("b"), std::nullopt, addr1, 30));
  CHECK(t.get(addr1)->id == id_of("b"));
  CHECK(t.get(std::nullopt, id_of("a"))->addrs == std::set<peer_address>{addr2});
  CHECK(t.size() == 2);
}

TEST_CASE("peer table: share() hands out one copy until the peer's data or addresses change") {
  peer_table t;
  CHECK(t.share(addr1) == nullptr);
  t.add_or_update(id_of("a"), id_of("v1"), addr1, 10);
  const auto first = t.share(addr1);
  REQUIRE(first);
  CHECK(first->data == id_of("v1"));
  CHECK(t.share(addr1) == first);  // not copied again
  t.touch(addr1, 20);              // a message heard: the same copy
  CHECK(t.share(addr1) == first);
  CHECK(t.get(addr1)->last_rx == 20);

  // New data: a new copy; the one handed out stays as it was.
  t.add_or_update(id_of("a"), id_of("v2"), addr1, 30);
  const auto second = t.share(addr1);
  REQUIRE(second);
  CHECK(second != first);
  CHECK(second->data == id_of("v2"));
  CHECK(first->data == id_of("v1"));

  // An address taken over by another peer: the first one's copy is made again.
  t.add_or_update(id_of("a"), std::nullopt, addr2, 40);
  const auto both = t.share(addr1);
  CHECK(both->addrs == std::set<peer_address>{addr1, addr2});
  t.add_or_update(id_of("b"), id_of("w"), addr2, 50);
  const auto moved = t.share(addr1);
  CHECK(moved != both);
  CHECK(moved->addrs == std::set<peer_address>{addr1});
  CHECK(t.share(addr2)->id == id_of("b"));

  // Removed: nothing to share, while copies handed out live on.
  t.remove(id_of("a"));
  CHECK(t.share(addr1) == nullptr);
  CHECK(moved->id == id_of("a"));
}

TEST_CASE("peer table: a silent peer is stale after the timeout, removed after the grace") {
  peer_table t({.timeout = 60, .grace = 30});
  std::vector<std::string> removed;
  t.on_removed([&](const peer& p) { removed.emplace_back(p.id->begin(), p.id->end()); });
  t.add_or_update(id_of("a"), {}, addr1, 0);
  t.add_or_update(id_of("b"), {}, addr2, 0);
  CHECK(t.expire(61).empty());  // stale, still in its grace period
  CHECK(t.is_stale(*t.get(addr1), 61));
  t.touch(addr1, 70);  // heard from within the grace: kept, no longer stale
  CHECK_FALSE(t.is_stale(*t.get(addr1), 70));
  CHECK(t.expire(90).empty());
  const auto gone = t.expire(91);  // b: silent for more than 60 + 30
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].id == id_of("b"));
  CHECK(removed == std::vector<std::string>{"b"});
  CHECK(t.get(addr2) == nullptr);
  CHECK(t.size() == 1);
  CHECK(t.expire(161).size() == 1);
  CHECK(t.empty());
}

TEST_CASE("peer table: grace 0 expires as the reference does; timeout 0 never") {
  peer_table ref({.timeout = 60, .grace = 0});
  ref.add_or_update(id_of("a"), {}, addr1, 0);
  CHECK(ref.expire(60).empty());
  CHECK(ref.expire(61).size() == 1);
  peer_table never({.timeout = 0, .grace = 0});
  never.add_or_update(id_of("a"), {}, addr1, 0);
  CHECK(never.expire(1'000'000).empty());
}

TEST_CASE("peer table: a lost peer is kept through the grace and kept if it returns") {
  peer_table t({.timeout = 0, .grace = 30});
  t.add_or_update(id_of("a"), {}, addr1, 0);
  t.add_or_update(id_of("b"), {}, addr2, 0);
  t.mark_lost(id_of("a"), 100);
  t.mark_lost(id_of("b"), 100);
  t.mark_lost(id_of("b"), 120);  // the first loss counts
  CHECK(t.is_stale(*t.get(addr1), 100));
  CHECK(t.expire(129).empty());
  t.add_or_update(id_of("a"), {}, addr3, 125);  // reconnected elsewhere
  const auto gone = t.expire(130);
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].id == id_of("b"));
  CHECK(t.get(addr3)->id == id_of("a"));
}

TEST_CASE("peer table: removal while iterating, from the callback and from expiry") {
  peer_table t({.timeout = 60, .grace = 0});
  for (const char* id : {"a", "b", "c", "d"})
    t.add_or_update(id_of(id), {}, {id, 1}, 0);
  std::vector<std::string> visited;
  t.for_each([&](const peer& p) {
    const std::string id(p.id->begin(), p.id->end());
    visited.push_back(id);
    if (id == "a") {
      CHECK(t.remove(id_of("a")));  // itself
      CHECK(t.remove(id_of("c")));  // one not visited yet
      CHECK_FALSE(t.remove(id_of("c")));
      CHECK(t.size() == 2);
      CHECK(t.get(std::nullopt, id_of("c")) == nullptr);
      t.add_or_update(id_of("e"), {}, {"e", 1}, 0);  // added meanwhile
    }
  });
  CHECK(visited == std::vector<std::string>{"a", "b", "d", "e"});
  CHECK(t.size() == 3);

  // Expiry from inside an iteration (a handler run during a broadcast), and
  // a peer removed and back within the same iteration.
  t.touch({"e", 1}, 100);
  std::size_t expired = 0;
  t.for_each([&](const peer& p) {
    if (*p.id == id_of("b")) {
      t.for_each([&](const peer&) {});  // nested iteration
      expired = t.expire(100).size();   // b and d: silent since 0
      t.add_or_update(id_of("d"), {}, {"d", 1}, 100);
    }
  });
  CHECK(expired == 2);
  CHECK(t.size() == 2);
  CHECK(t.get(std::nullopt, id_of("d")) != nullptr);
  CHECK(t.get(std::nullopt, id_of("b")) == nullptr);
  CHECK(t.snapshot().size() == 2);
}

TEST_CASE("peer table: clear leaves nothing behind, each removal reported") {
  peer_table t;
  int reported = 0;
  t.on_removed([&](const peer&) { ++reported; });
  t.add_or_update(id_of("a"), {}, addr1, 0);
  t.add_or_update(id_of("b"), {}, addr2, 0);
  t.clear();
  CHECK(reported == 2);
  CHECK(t.empty());
  CHECK(t.get(addr1) == nullptr);
  CHECK(t.snapshot().empty());
}

TEST_CASE("peer table: on_event reports discoveries and removals, not refreshes") {
  peer_table t({.timeout = 60, .grace = 0}, id_of("me"));
  std::vector<std::string> events;
  int node_removed = 0;
  t.on_removed([&](const peer&) { ++node_removed; });  // the node's own callback stays
  t.on_event([&](peer_event e, const peer& p) {
    std::string line = e == peer_event::added ? "added " : "removed ";
    line.append(p.id->begin(), p.id->end());
    if (e == peer_event::added) line += " @" + p.addrs.begin()->first;
    events.push_back(line);
  });
  CHECK_FALSE(t.add_or_update(id_of("me"), {}, addr1, 0));  // never added: no event
  t.add_or_update(id_of("a"), {}, addr1, 0);
  t.add_or_update(id_of("a"), {}, addr1, 5);  // a refresh
  t.add_or_update(id_of("a"), {}, addr2, 6);  // a new address of a known peer
  t.add_or_update(id_of("b"), {}, addr3, 10);
  t.touch(addr3, 20);
  CHECK(events == std::vector<std::string>{"added a @10.0.0.1", "added b @10.0.0.3"});
  CHECK(t.expire(67).size() == 1);  // a: silent since 6
  CHECK(t.remove(id_of("b")));      // a DISCONNECT
  CHECK_FALSE(t.remove(id_of("b")));
  t.add_or_update(id_of("a"), {}, addr1, 70);  // back after its removal
  t.clear();
  CHECK(events == std::vector<std::string>{"added a @10.0.0.1", "added b @10.0.0.3", "removed a",
                                           "removed b", "added a @10.0.0.1", "removed a"});
  CHECK(node_removed == 3);
}

namespace {

struct udp_like {
  peer_address from;
};
using peer_router = basic_router<message, udp_like>;
using peer_pipeline = basic_pipeline<peer_router>;

}  // namespace

TEST_CASE("peer management: ADVERTISE_PEER, PEER_DISCOVERED and DISCONNECT") {
  const long frames = live_task_frames();
  log_capture cap;
  const default_peer_plugin pp;
  peer local;
  local.id = id_of("local id");
  local.data = packify::pack(packify::value("local data"));
  peer_table table({}, local.id);
  std::int64_t now = 1000;
  peer_router r;
  peer_pipeline p(r, cap.log);
  manage_peers(r,
               peer_management{.table = &table,
                               .plugin = pp,
                               .local = &local,
                               .clock = [&] { return now; },
                               .log = &cap.log},
               [](udp_like& c) { return std::optional<peer_address>(c.from); });
  const auto receive = [&](message m, peer_address from) {
    udp_like c{from};
    return test::run_virtual(p.receive(std::move(m), c, from));
  };
  peer remote;
  remote.id = id_of("remote id");
  remote.data = packify::pack(packify::value("remote data"));

  // ADVERTISE_PEER: added, answered with our PEER_DISCOVERED.
  auto o = receive(
      make_peer_msg<message>(message_type::advertise_peer, remote, pp, as_bytes("netaio")), addr1);
  CHECK(o.status == receive_status::handled);
  REQUIRE(o.reply);
  CHECK(*o.reply ==
        make_peer_msg<message>(message_type::peer_discovered, local, pp, as_bytes("netaio")));
  REQUIRE(table.get(addr1));
  CHECK(table.get(addr1)->data == remote.data);
  CHECK(table.get(addr1)->last_rx == 1000);

  // Our own advertisement (multicast loops back): ignored, unanswered.
  o = receive(make_peer_msg<message>(message_type::advertise_peer, local, pp, as_bytes("netaio")),
              addr2);
  CHECK_FALSE(o.reply);
  CHECK(table.size() == 1);

  // PEER_DISCOVERED: added (refreshed), no answer.
  now = 1005;
  o = receive(make_peer_msg<message>(message_type::peer_discovered, remote, pp, as_bytes("netaio")),
              addr3);
  CHECK_FALSE(o.reply);
  CHECK(table.get(addr3)->last_rx == 1005);

  // Garbage: logged at error with the sender, nothing changes.
  o = receive(make(message_type::advertise_peer, "netaio", "not packify"), addr2);
  CHECK_FALSE(o.reply);
  CHECK(cap.has(log_level::error, "could not unpack the peer in ADVERTISE_PEER"));
  CHECK(cap.at(log_level::error).back().peer == addr2);
  CHECK(table.size() == 1);

  // Another app id is not ours: not found.
  o = receive(make_peer_msg<message>(message_type::advertise_peer, remote, pp, as_bytes("other")),
              addr1);
  CHECK(o.status == receive_status::not_found);

  // DISCONNECT: removed.
  o = receive(make_peer_msg<message>(message_type::disconnect, remote, pp, as_bytes("netaio")),
              addr1);
  CHECK_FALSE(o.reply);
  CHECK(table.empty());

  stop_managing_peers(r);
  CHECK(r.size() == 0);
  CHECK(live_task_frames() == frames);
}
