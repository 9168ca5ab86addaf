#include <gtest/gtest.h>
#include <signal.h>

#include "otad/command.h"

using namespace otad;

TEST(Command, ExitStatusSignalAndTimeout) {
  EXPECT_TRUE(command_run("true", 5000).ok());
  auto r = command_run("exit 3", 5000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "exit status 3");
  r = command_run("kill -TERM $$", 5000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "killed by signal 15");
  // The whole process group goes at the deadline, the shell's children too.
  r = command_run("sleep 30 & sleep 30", 200);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "still running at the timeout; killed");
}

TEST(Command, PollDoesNotWait) {
  auto c = command_start("sleep 30", 0, 1000);
  ASSERT_TRUE(c.ok());
  std::string why;
  EXPECT_EQ(command_poll(*c, 0, &why), CommandState::Running);
  EXPECT_EQ(command_poll(*c, 999, &why), CommandState::Running);
  EXPECT_EQ(command_poll(*c, 1000, &why), CommandState::Failed);  // its deadline, by the caller's clock
  EXPECT_EQ(why, "still running at the timeout; killed");
  EXPECT_EQ(c->pid, -1);
}
