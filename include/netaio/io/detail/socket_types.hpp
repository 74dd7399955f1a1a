// The platform's socket headers, in one place (as Asio's socket_types.hpp):
// the public io headers include this instead of POSIX headers, so a port
// (Windows sockets, for IOCP) changes this file and the detail/ code behind
// it, not the headers users include. Only POSIX sockets exist today.
#pragma once

#if defined(_WIN32)
#error "netaio: Windows sockets come with the IOCP backend, which is not implemented yet"
#else
#include <arpa/inet.h>    // inet_pton, inet_ntop
#include <net/if.h>       // if_nametoindex
#include <netinet/in.h>   // sockaddr_in(6), IPPROTO_*, multicast requests
#include <netinet/tcp.h>  // TCP_NODELAY
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>  // iovec
#include <unistd.h>   // close
#endif
