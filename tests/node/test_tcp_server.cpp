// tcp_server end to end on loopback, driven by tcp_client: echo, the CRUD
// sequence, NOT_FOUND, subscribe/notify, broadcast past a slow reader,
// plugins, malformed frames, limits. Every test ends with no descriptor,
// registration or task frame left (run_io).
#include "node/tcp_support.hpp"

using namespace tcp_test;

namespace {
using db_t = std::map<std::string, std::string>;
}  // namespace

TEST_CASE("echo: a request answered by the handler, then a clean stop") {
  run_io([](io_context& io) -> task<void> {
    tcp_server server(io, local_server());
    install_crud(server, std::make_shared<db_t>());
    const endpoint at = co_await server.start();
    CHECK(at.port() != 0);
    CHECK(server.port() == at.port());
    tcp_client client(io, client_for(at));
    co_await client.connect();
    const message answer = co_await client.request(as_bytes("echo"), {}, as_bytes("hello"));
    CHECK(answer.type() == message_type::respond_uri);
    CHECK(uri_of(answer) == "echo");
    CHECK(content_of(answer) == "hello");
    CHECK(server.connection_count() == 1);
    co_await client.stop();
    co_await server.stop();
    CHECK(server.connection_count() == 0);
  });
}
