// An operator's shell command (a RADIUS server's reload), run without
// blocking the caller: started in its own process group so a timeout can
// kill whatever it started, and polled until it ends.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "otad/result.h"

namespace otad {

struct RunningCommand {
  pid_t pid = -1;
  int64_t deadline_ms = 0;  // monotonic
  std::string text;
};

// /bin/sh -c text, stdin from /dev/null; its output goes where ours does.
Result<RunningCommand> command_start(const std::string& text, int64_t now_ms, int64_t timeout_ms);

enum class CommandState { Running, Done, Failed };
// Done: exit status 0. Failed: why (exit status, signal, or killed at the
// deadline, in which case its process group is killed).
CommandState command_poll(RunningCommand& c, int64_t now_ms, std::string* why);

// Starts and waits (polling every 20 ms): for otactl, which may block.
Status command_run(const std::string& text, int64_t timeout_ms);

}  // namespace otad
