// Uses the library the way a subproject consumer does: one include.
#include <netaio/netaio.hpp>

#include <chrono>

netaio::task<int> answer() {
  co_await netaio::sleep_for(std::chrono::milliseconds(1));
  co_return 42;
}

int main() {
  return netaio::run(answer(), {.virtual_time = true}) == 42 ? 0 : 1;
}
