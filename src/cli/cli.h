// otactl internals: argument handling shared by the subcommand files.
#pragma once
#include <cstdio>
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "otad/config.h"
#include "otad/digest.h"
#include "otad/inspect.h"

namespace otad::cli {

constexpr int kExitOk = 0;
constexpr int kExitFail = 1;
constexpr int kExitUsage = 2;

// Parsed command line: positionals and --flags (a flag's value is "" when
// it takes none).
struct Args {
  std::vector<std::string> pos;
  std::map<std::string, std::string> flags;
  bool has(const std::string& f) const { return flags.count(f) > 0; }
  std::string get(const std::string& f, const std::string& def = "") const {
    auto it = flags.find(f);
    return it == flags.end() ? def : it->second;
  }
};

// Loads the config named by --config (or OTAD_CONFIG, or the default);
// prints errors and returns false on failure.
bool load_config(const Args& a, Config* out);
// The pid server.pid_file names, if it names one.
std::optional<pid_t> daemon_pid(const Config& cfg);
// Tells a running otad (found through server.pid_file) to reload. False
// (after saying so on stderr) when a running otad could not be signalled:
// the change is on disk, but otad does not know of it yet.
bool notify_daemon(const Config& cfg, FILE* out = stdout);
// Refuses flags the command does not know; prints and returns false.
bool only_flags(const Args& a, std::initializer_list<const char*> allowed);

int cmd_image(const std::string& verb, const Args& a);
int cmd_ca(const std::string& verb, const Args& a);
struct Pem;
// The gateway CA (certificate and key) named by [https] client_ca_file.
Result<Pem> load_ca(const Config& cfg);
int cmd_device(const std::string& verb, const Args& a);
int cmd_admin(const std::string& verb, const Args& a);
int cmd_platform(const std::string& verb, const Args& a);
int cmd_status(const Args& a);
int cmd_rollout(const std::string& verb, const Args& a);
int device_list(const Args& a);
int device_show(const Args& a);
// The rollouts with their figures for otactl status: from the admin API
// (base and token given) or the files otad keeps.
nlohmann::json status_rollouts(const Config& cfg, const std::string* base, const std::string* token);
void print_status_rollouts(const nlohmann::json& arr);

nlohmann::json image_json(const ImageInfo& info, const Digests& d);

}  // namespace otad::cli
