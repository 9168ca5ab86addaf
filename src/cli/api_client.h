// otactl's side of the admin API: when otad runs with [admin] enabled, the
// catalog is written through it (the daemon is then its only writer);
// otherwise otactl writes the store itself under its lock. libcurl speaks
// HTTP(S), honours 100-continue and reports upload progress.
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli.h"

namespace otad::cli {

struct ApiReply {
  long status = 0;       // 0: no answer (error says why)
  nlohmann::json body;   // parsed JSON (null if the body was not JSON)
  std::string error;     // transport failure, or the API's {"error"}
};

// The admin API's base URL when otad runs (its pid file names a live
// process) and serves [admin]; nullopt otherwise.
std::optional<std::string> api_base(const Config& cfg);

// The token: $OTAD_TOKEN, else the first line of --token-file.
std::optional<std::string> api_token(const Args& a);

// One request. upload_path: the file to send as the body (progress shown on
// a terminal for large files); json_body: a small JSON body instead.
ApiReply api_call(const Config& cfg, const std::string& url, const char* method, const std::string& token,
                  const std::string* upload_path = nullptr, const std::string* json_body = nullptr);

// Percent-encodes a query value.
std::string url_escape(const std::string& s);

}  // namespace otad::cli
