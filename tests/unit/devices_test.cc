#include <gtest/gtest.h>
#include <unistd.h>

#include "otad/devices.h"
#include "otad/fsutil.h"

using namespace otad;

namespace {
std::string tmpfile_with(const std::string& text) {
  char tmpl[] = "/tmp/otad-dev-XXXXXX";
  int fd = mkstemp(tmpl);
  close(fd);
  EXPECT_TRUE(write_file_atomic(tmpl, text).ok());
  return tmpl;
}
}  // namespace

TEST(Devices, LoadAnySpellingSaveCanonical) {
  std::string p = tmpfile_with(
      "[30:AE:A4:04:1D:8C]\nplatform = demo\nname = a b\n[30-ae-a4-04-1d-8d]\nenabled = no\n"
      "[30aea4041d8e]\n");
  std::vector<std::string> errors;
  auto reg = Registry::load(p, &errors);
  ASSERT_TRUE(reg.ok()) << errors[0];
  EXPECT_EQ(reg->size(), 3u);
  const Device* a = reg->find(*parse_mac("30aea4041d8c"));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->platform, "demo");
  EXPECT_EQ(a->name, "a b");
  EXPECT_TRUE(a->enabled);
  EXPECT_FALSE(reg->find(*parse_mac("30aea4041d8d"))->enabled);
  EXPECT_NE(reg->find(*parse_mac("30aea4041d8e")), nullptr);  // a section with no keys
  ASSERT_TRUE(reg->save(p).ok());
  auto text = read_file(p, 1 << 16);
  EXPECT_NE(text->find("[30aea4041d8c]"), std::string::npos);
  auto again = Registry::load(p, &errors);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 3u);
  unlink(p.c_str());
}

TEST(Devices, Errors) {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"[30aea4041d8c]\ncolour = red\n", ":2: 30aea4041d8c.colour: unknown key"},
      {"[not-a-mac]\n", ":1: [not-a-mac]: not a MAC"},
      {"[30aea4041d8c]\n[30:ae:a4:04:1d:8c]\n", ":2: [30:ae:a4:04:1d:8c]: device 30aea4041d8c listed twice"},
      {"[30aea4041d8c]\nenabled = perhaps\n", ":2: 30aea4041d8c.enabled: 'perhaps' is not a boolean"},
      {"[30aea4041d8c]\nimage = abc\n", ":2: 30aea4041d8c.image: must be an image's SHA-256"},
      {"platform = x\n", ":1: platform: key outside a device section"},
  };
  for (const Case& c : cases) {
    std::string p = tmpfile_with(c.text);
    std::vector<std::string> errors;
    EXPECT_FALSE(Registry::load(p, &errors).ok()) << c.text;
    ASSERT_FALSE(errors.empty());
    EXPECT_NE(errors[0].find(c.want), std::string::npos) << errors[0];
    unlink(p.c_str());
  }
}

TEST(Devices, MissingFileIsEmpty) {
  std::vector<std::string> errors;
  auto reg = Registry::load("/nonexistent/devices.ini", &errors);
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ(reg->size(), 0u);
}
