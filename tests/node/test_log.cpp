// The node layer's logger: threshold, replaceable sink, lazy formatting.
#include <doctest/doctest.h>
#include <netaio/node/log.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace netaio;

namespace {

struct seen {
  log_level level;
  std::string text;
  std::optional<peer_address> peer;
};

}  // namespace

TEST_CASE("the default logger writes to stderr from warning up") {
  const logger log;
  CHECK(log.level() == log_level::warning);
  CHECK_FALSE(log.enabled(log_level::debug));
  CHECK_FALSE(log.enabled(log_level::info));
  CHECK(log.enabled(log_level::warning));
  CHECK(log.enabled(log_level::error));
}

TEST_CASE("a replaced sink gets level, text and peer") {
  std::vector<seen> got;
  logger log([&](log_level l, std::string_view t, const std::optional<peer_address>& p) {
    got.push_back({l, std::string(t), p});
  });
  CHECK(log.level() == log_level::debug);
  log.info(peer_address{"10.0.0.1", 8888}, "client ", 7, " connected: ", true);
  log.error(std::nullopt, "no peer here");
  REQUIRE(got.size() == 2);
  CHECK(got[0].level == log_level::info);
  CHECK(got[0].text == "client 7 connected: true");
  CHECK(got[0].peer == peer_address{"10.0.0.1", 8888});
  CHECK(got[1].level == log_level::error);
  CHECK_FALSE(got[1].peer.has_value());

  // set_sink replaces; an empty sink silences.
  log.set_sink({});
  CHECK_FALSE(log.enabled(log_level::error));
  log.error(std::nullopt, "dropped");
  CHECK(got.size() == 2);
}

TEST_CASE("records below the threshold are not formatted") {
  int formatted = 0;
  int written = 0;
  logger log([&](log_level, std::string_view, const std::optional<peer_address>&) { ++written; },
             log_level::warning);
  const auto expensive = [&] {
    ++formatted;
    return std::string("costly");
  };
  log.debug(std::nullopt, "a ", expensive);
  log.info(std::nullopt, "b ", expensive);
  CHECK(formatted == 0);
  CHECK(written == 0);
  log.warning(std::nullopt, "c ", expensive);
  CHECK(formatted == 1);
  CHECK(written == 1);
  log.set_level(log_level::debug);
  log.debug(std::nullopt, "d ", expensive);
  CHECK(formatted == 2);
  CHECK(written == 2);
}

TEST_CASE("a callable part is formatted into the text") {
  std::string text;
  const logger log(
      [&](log_level, std::string_view t, const std::optional<peer_address>&) { text = t; });
  log.warning(
      std::nullopt, "keys ", [] { return std::string("[A, B]"); }, " from ",
      peer_address{"::1", 9});
  CHECK(text == "keys [A, B] from [::1]:9");
}

TEST_CASE("peer addresses as text; level names") {
  CHECK(to_string(peer_address{"127.0.0.1", 8888}) == "127.0.0.1:8888");
  CHECK(to_string(peer_address{"fe80::1", 1}) == "[fe80::1]:1");
  CHECK(to_string(log_level::debug) == "debug");
  CHECK(to_string(log_level::info) == "info");
  CHECK(to_string(log_level::warning) == "warning");
  CHECK(to_string(log_level::error) == "error");
}
