#include <cstdio>
#include <netaio/netaio.hpp>
int main() {
  std::puts("netaio demo");
}
