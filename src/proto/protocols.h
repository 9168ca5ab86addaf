// The protocols a listener can speak, as table entries for the reactor.
#pragma once
#include "core/conn.h"

namespace otad {

extern const Protocol kTcpbootProtocol;  // tcpboot_conn.cc
extern const Protocol kHttpProtocol;     // http_conn.cc

}  // namespace otad
