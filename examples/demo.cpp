#include <netaio/netaio.hpp>
#include <cstdio>
int main() { std::puts("netaio demo"); }
