#include "otad/command.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace otad {
namespace {

int64_t mono_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Result<RunningCommand> command_start(const std::string& text, int64_t now_ms, int64_t timeout_ms) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_init(&attr);
  // Its own process group (killed whole at the deadline) and default
  // signal handling (otad ignores SIGPIPE).
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const char* argv[] = {"/bin/sh", "-c", text.c_str(), nullptr};
  pid_t pid;
  const int r = posix_spawn(&pid, "/bin/sh", &fa, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (r != 0) return Err(std::string("cannot start /bin/sh: ") + strerror(r));
  return RunningCommand{pid, now_ms + timeout_ms, text};
}

CommandState command_poll(RunningCommand& c, int64_t now_ms, std::string* why) {
  if (c.pid <= 0) return CommandState::Done;
  int st = 0;
  pid_t r = waitpid(c.pid, &st, WNOHANG);
  if (r == 0 && now_ms < c.deadline_ms) return CommandState::Running;
  if (r == 0) {
    kill(-c.pid, SIGKILL);
    waitpid(c.pid, &st, 0);
    c.pid = -1;
    *why = "still running at the timeout; killed";
    return CommandState::Failed;
  }
  c.pid = -1;
  if (r < 0) {
    *why = std::string("lost: ") + strerror(errno);
    return CommandState::Failed;
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return CommandState::Done;
  *why = WIFEXITED(st) ? "exit status " + std::to_string(WEXITSTATUS(st))
                       : "killed by signal " + std::to_string(WTERMSIG(st));
  return CommandState::Failed;
}

Status command_run(const std::string& text, int64_t timeout_ms) {
  auto c = command_start(text, mono_ms(), timeout_ms);
  if (!c) return Err(c.error());
  std::string why;
  for (;;) {
    switch (command_poll(*c, mono_ms(), &why)) {
      case CommandState::Running:
        usleep(20000);
        continue;
      case CommandState::Done:
        return Ok();
      case CommandState::Failed:
        return Err(why);
    }
  }
}

}  // namespace otad
