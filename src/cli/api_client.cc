#include "cli/api_client.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "otad/fsutil.h"

namespace otad::cli {
namespace {

size_t collect(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

int progress(void*, curl_off_t, curl_off_t, curl_off_t total, curl_off_t now) {
  if (total > 0) {
    fprintf(stderr, "\rotactl: uploading %lld of %lld KiB (%lld%%)", static_cast<long long>(now / 1024),
            static_cast<long long>(total / 1024), static_cast<long long>(now * 100 / total));
  }
  return 0;
}

}  // namespace

std::optional<std::string> api_base(const Config& cfg) {
  if (!cfg.admin_enabled) return std::nullopt;
  const std::optional<pid_t> pid = daemon_pid(cfg);
  if (!pid || kill(*pid, 0) != 0) return std::nullopt;
  std::string host = cfg.admin_listen == "0.0.0.0" ? "127.0.0.1" : cfg.admin_listen == "::" ? "[::1]" : cfg.admin_listen;
  if (host.find(':') != std::string::npos && host[0] != '[') host = "[" + host + "]";
  return std::string(cfg.admin_tls ? "https://" : "http://") + host + ":" + std::to_string(cfg.admin_port);
}

std::optional<std::string> api_token(const Args& a) {
  if (const char* t = getenv("OTAD_TOKEN"); t && *t) return std::string(t);
  if (!a.has("--token-file")) return std::nullopt;
  auto text = read_file(a.get("--token-file"), 4096);
  if (!text) return std::nullopt;
  std::string t = text->substr(0, text->find('\n'));
  return t.empty() ? std::nullopt : std::optional<std::string>(t);
}

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string o;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      o += static_cast<char>(c);
    } else {
      o += '%';
      o += hex[c >> 4];
      o += hex[c & 15];
    }
  }
  return o;
}

ApiReply api_call(const Config& cfg, const std::string& url, const char* method, const std::string& token,
                  const std::string* upload_path, const std::string* json_body) {
  ApiReply r;
  CURL* c = curl_easy_init();
  if (!c) {
    r.error = "cannot start libcurl";
    return r;
  }
  std::string out;
  curl_slist* h = nullptr;
  h = curl_slist_append(h, ("Authorization: Bearer " + token).c_str());
  FILE* f = nullptr;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  if (cfg.admin_tls && !cfg.client_ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, cfg.client_ca_file.c_str());
  if (upload_path) {
    struct stat st;
    f = fopen(upload_path->c_str(), "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
      r.error = *upload_path + ": cannot open";
      if (f) fclose(f);
      curl_slist_free_all(h);
      curl_easy_cleanup(c);
      return r;
    }
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READDATA, f);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(st.st_size));
    h = curl_slist_append(h, "Content-Type: application/octet-stream");
    h = curl_slist_append(h, "Expect: 100-continue");
    if (isatty(STDERR_FILENO) && st.st_size > (1 << 20)) {
      curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
    }
  } else if (json_body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body->c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(json_body->size()));
    h = curl_slist_append(h, "Content-Type: application/json");
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  const CURLcode rc = curl_easy_perform(c);
  if (upload_path && isatty(STDERR_FILENO)) fprintf(stderr, "\r\033[K");
  if (rc != CURLE_OK) {
    r.error = std::string("admin API at ") + url + ": " + curl_easy_strerror(rc);
  } else {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    r.body = nlohmann::json::parse(out, nullptr, false);
    if (r.body.is_discarded()) r.body = nullptr;
    if (r.status >= 400) {
      r.error = r.body.is_object() && r.body.contains("error") ? r.body["error"].get<std::string>()
                                                               : "HTTP " + std::to_string(r.status);
    }
  }
  if (f) fclose(f);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return r;
}

}  // namespace otad::cli
