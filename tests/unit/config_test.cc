#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "otad/config.h"
#include "otad/fsutil.h"

using namespace otad;

namespace {
struct Loaded {
  bool ok;
  std::vector<std::string> errors;
  Config cfg;
};
Loaded load(const std::string& text) {
  Loaded l{};
  auto r = config_load_text("t.ini", text, &l.errors);
  l.ok = r.ok();
  if (r.ok()) l.cfg = *r;
  return l;
}
}  // namespace

TEST(Config, DefaultsAreValid) {
  Config c = config_defaults();
  for (const KeySpec& k : config_table()) {
    std::vector<std::string> errors;
    std::string text = std::string("[") + k.section + "]\n" + k.name + " = " + k.def + "\n";
    if (std::string(k.def).empty()) continue;  // "key =" with no value is the empty string
    auto r = config_load_text("d.ini", text, &errors);
    EXPECT_TRUE(r.ok()) << k.section << "." << k.name << ": " << (errors.empty() ? "" : errors[0]);
  }
  EXPECT_EQ(c.max_connections, 1024);
  EXPECT_EQ(c.tcpboot_port, 8123);
  EXPECT_TRUE(c.tcpboot_enabled);
}

TEST(Config, ErrorsNameFileLineKeyReason) {
  struct Case {
    const char* text;
    const char* want;  // substring of the first error
  };
  const Case cases[] = {
      {"[server]\nmax_connections = 10abc\n", "t.ini:2: server.max_connections: '10abc' is not a plain base-10"},
      {"[tcpboot]\nport = 0443\n", "t.ini:2: tcpboot.port: '0443' has a leading zero"},
      {"[tcpboot]\nport = 70000\n", "t.ini:2: tcpboot.port: 70000 is out of range 1..65535"},
      {"[tcpboot]\nport = -1\n", "t.ini:2: tcpboot.port:"},
      {"[tcpboot]\nport = 0x1F\n", "not a plain base-10"},
      {"[server]\nmax_conections = 5\n", "t.ini:2: server.max_conections: unknown key"},
      {"[serve]\nx = 1\n", "t.ini:1: [serve]: unknown section"},
      {"[server]\n\n; c\nmax_connections = 5\nmax_connections = 6\n", "t.ini:5: server.max_connections: given more than once"},
      {"[server]\nmax_connections = 5\n  6\n", "t.ini:3: server.max_connections: given more than once"},
      {"[server]\nlog_level = loud\n", "t.ini:2: server.log_level: 'loud' is not one of error|warn|info|debug"},
      {"[tcpboot]\nlisten = localhost\n", "t.ini:2: tcpboot.listen: 'localhost' is not an IPv4 or IPv6"},
      {"[tcpboot]\nenabled = maybe\n", "is not a boolean"},
      {"max_connections = 5\n", "t.ini:1: max_connections: key outside any [section]"},
      {"[server]\njust words\n", "t.ini:2: syntax error"},
      {"[catalog]\ndir =\n", "t.ini:2: catalog.dir: must not be empty"},
      {"[catalog]\ndefault_platform =; demo\n", "t.ini:2: catalog.default_platform: a value may not begin with ';'"},
      {"[tcpboot]\nenabled = no\n", "no listener is enabled"},
      {"[http]\nenabled = yes\nport = 8123\n", "two listeners on port 8123"},
      {"[http]\nno_update_status = 250\n", "must be 304 or 204"},
      {"[https]\nmax_fragment_length = 300\n", "must be 0, 512, 1024, 2048 or 4096"},
      {"[https]\nauth = magic\n", "https.auth: 'magic' is not one of none|psk|cert|password|any"},
      {"[https]\ngroups = x25519 p521\n", "t.ini:2: https.groups: 'p521' is not one of x25519|p256|p384"},
      {"[https]\ngroups = p256 x25519 p256\n", "t.ini:2: https.groups: 'p256' given twice"},
      {"[https]\ngroups =\n", "t.ini:2: https.groups: must name at least one of x25519|p256|p384"},
      {"[https]\ngroups = x25519,p256\n", "'x25519,p256' is not one of"},
  };
  for (const Case& c : cases) {
    Loaded l = load(c.text);
    EXPECT_FALSE(l.ok) << c.text;
    ASSERT_FALSE(l.errors.empty()) << c.text;
    EXPECT_NE(l.errors[0].find(c.want), std::string::npos) << "got: " << l.errors[0];
  }
}

// TLS 1.3 is offered only by a build whose mbedTLS has it; naming it
// elsewhere stops otad at start with the line.
TEST(Config, TlsVersionsFollowTheBuild) {
  std::vector<std::string> errors;
  auto r = config_load_text("t.ini", "[https]\ntls_versions = 1.2 1.3\n", &errors);
  if (OTAD_TLS13) {
    ASSERT_TRUE(r.ok()) << errors[0];
    EXPECT_EQ(config_defaults().tls_versions, "1.2 1.3");
  } else {
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("t.ini:2: "), std::string::npos) << r.error();
    EXPECT_NE(r.error().find("no TLS 1.3"), std::string::npos) << r.error();
    EXPECT_EQ(config_defaults().tls_versions, "1.2");
  }
  errors.clear();
  EXPECT_FALSE(config_load_text("t.ini", "[https]\ntls_versions = 1.1\n", &errors).ok());
}

TEST(Config, LongValueIsRefusedNotSplit) {
  // inih r55 would split this line silently and parse the tail as a new key.
  std::string v(198, 'a');
  Loaded l = load("[catalog]\ndir = /" + v + "\n");
  ASSERT_FALSE(l.ok);
  EXPECT_NE(l.errors[0].find("t.ini:2: line is"), std::string::npos) << l.errors[0];
  // Paths have their own limit of 190 characters.
  Loaded over = load("[catalog]\ndir=" + std::string(191, 'b') + "\n");
  ASSERT_FALSE(over.ok);
  EXPECT_NE(over.errors[0].find("t.ini:2: catalog.dir: longer than 190"), std::string::npos);
  EXPECT_TRUE(load("[catalog]\ndir=" + std::string(190, 'b') + "\n").ok);
}

TEST(Config, ReportsEveryError) {
  Loaded l = load("[server]\nmax_connections = x\nlisten_backlog = y\n[nope]\n");
  EXPECT_EQ(l.errors.size(), 3u);
}

TEST(Config, ValuesParsed) {
  Loaded l = load("[server]\nmax_connections = 50\nlog_level = debug\n[tcpboot]\nport = 9000\n"
                  "listen = ::1\nread_timeout = 2\n[catalog]\nunknown_devices = refuse ; inline\n");
  ASSERT_TRUE(l.ok) << l.errors[0];
  EXPECT_EQ(l.cfg.max_connections, 50);
  EXPECT_EQ(l.cfg.log_level, "debug");
  EXPECT_EQ(l.cfg.tcpboot_port, 9000);
  EXPECT_EQ(l.cfg.tcpboot_listen, "::1");
  EXPECT_EQ(l.cfg.tcpboot_read_timeout, 2);
  EXPECT_EQ(l.cfg.unknown_devices, "refuse");
  Loaded g = load("[https]\ngroups =  x25519\tp384 \n");
  ASSERT_TRUE(g.ok) << g.errors[0];
  EXPECT_EQ(g.cfg.groups, "x25519\tp384");
}

TEST(Config, DumpRoundTrips) {
  Loaded l = load("[server]\nmax_connections = 77\n[catalog]\ndefault_platform = x\n");
  ASSERT_TRUE(l.ok);
  std::string dump = config_dump(l.cfg);
  Loaded again = load(dump);
  ASSERT_TRUE(again.ok) << (again.errors.empty() ? "" : again.errors[0]);
  EXPECT_EQ(config_dump(again.cfg), dump);
}

// conf/otad.ini must document every key in the table, with its default,
// in the right section, and load cleanly.
TEST(Config, ShippedFileDocumentsEveryKey) {
  const std::string path = std::string(OTAD_SOURCE_DIR) + "/conf/otad.ini";
  std::vector<std::string> errors;
  auto r = config_load(path, &errors);
  ASSERT_TRUE(r.ok()) << errors[0];
  auto text = read_file(path, 1 << 20);
  ASSERT_TRUE(text.ok());
  std::istringstream in(*text);
  std::string line, section, comments;
  std::map<std::string, std::string> doc;  // "section.key" -> comment block before it
  while (std::getline(in, line)) {
    if (line.rfind(";", 0) == 0 && line.find(" = ") != std::string::npos && line.find(' ') == line.find(" = ")) {
      // ";key = value": a key left at its (build-dependent) default, documented.
      doc[section + "." + line.substr(1, line.find(" =") - 1)] = comments;
      comments.clear();
    } else if (line.rfind(";", 0) == 0) {
      comments += line + "\n";
    } else if (line.rfind("[", 0) == 0) {
      section = line.substr(1, line.find(']') - 1);
      comments.clear();
    } else if (size_t eq = line.find(" ="); eq != std::string::npos) {
      doc[section + "." + line.substr(0, eq)] = comments;
      comments.clear();
    }
  }
  for (const KeySpec& k : config_table()) {
    std::string id = std::string(k.section) + "." + k.name;
    ASSERT_TRUE(doc.count(id)) << id << " is not in conf/otad.ini";
    const std::string& c = doc[id];
    std::string def = *k.def ? k.def : "empty";
    EXPECT_NE(c.find("Default " + def), std::string::npos) << id << ": default " << def << " not documented";
  }
}
