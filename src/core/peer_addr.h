// The peer's address as accept() gave it: 28 bytes, kept in every slot for
// checks that need the address itself (the link-layer MAC check).
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

namespace otad {

union PeerAddr {
  sockaddr sa;
  sockaddr_in v4;
  sockaddr_in6 v6;
};

}  // namespace otad
