// GET|HEAD <update_path>: the Arduino clients (ESP8266httpUpdate, ESP32
// HTTPUpdate) and the esp-update-server query form. The request becomes a
// device report; the decision says what it gets; this renders it as those
// clients expect (protocols.md §2, §6): 200 with Content-Length and lowercase
// digests, 304/204 when current, x-version for mode: version.
#include "http/exchange.h"
#include "otad/strict_num.h"

namespace otad {
namespace {

// The same header under either client's prefix.
std::string_view esp_header(const Exchange& x, const char* suffix, bool* found) {
  char name[48];
  for (const char* prefix : {"x-ESP8266-", "x-ESP32-"}) {
    snprintf(name, sizeof name, "%s%s", prefix, suffix);
    std::string_view v = x.header(name, found);
    if (*found) return v;
  }
  return {};
}

}  // namespace

// Which client family sent the request: the prefix of its x-ESP*-headers.
ChipFamily client_family(const Exchange& x) {
  for (int i = 0; i < x.req.header_count; ++i) {
    std::string_view n = x.req.headers[i].name.in(x.buf);
    if (n.size() > 10 && iequals(n.substr(0, 10), "x-ESP8266-")) return ChipFamily::Esp8266;
    if (n.size() > 8 && iequals(n.substr(0, 8), "x-ESP32-")) return ChipFamily::Esp32;
  }
  return ChipFamily::Unknown;
}

void update_endpoint(const Exchange& x, HttpResponse* out) {
  DeviceReport rep;
  if (!identify(x, out, &rep)) return;
  rep.family = client_family(x);
  bool found;
  std::string_view mode = esp_header(x, "mode", &found);
  const bool want_version = mode == "version";
  const bool fs = mode == "spiffs" || mode == "littlefs" || mode == "fatfs" || mode == "flashfs";
  if (!mode.empty() && !want_version && !fs && mode != "sketch") return out->fail(400, "unknown mode");
  rep.ask = want_version ? Ask::Version : fs ? Ask::Filesystem : Ask::Update;
  // Platform: the registry decides for registered devices; ?dev= names it
  // for the others.
  std::string_view query = x.req.query.in(x.buf);
  rep.platform = http_query_param(query, "dev", &found);
  // Current version: ?ver= (esp-update-server), else the version header.
  rep.version = http_query_param(query, "ver", &found);
  if (!found) rep.version = esp_header(x, "version", &found);
  rep.sketch_md5 = esp_header(x, "sketch-md5", &found);
  std::string_view free_space = esp_header(x, "free-space", &found);
  if (found) {
    if (auto n = parse_int_strict(free_space, 0, int64_t{1} << 40)) rep.free_space = static_cast<uint64_t>(*n);
  }
  const Decision d = decide_for(x.c, x.ctx, rep);
  if (d.kind == Decision::Busy) return busy(out, d);
  if (d.kind == Decision::Deny) {
    out->fail(d.status, d.why);
    if (d.status == 409) {
      // Both chips, by name: the device's (registry, else its client's
      // family) and the image's.
      const Device* dev = rep.mac ? x.ctx.registry->find(*rep.mac) : nullptr;
      const char* mine = dev && !dev->chip.empty()           ? dev->chip.c_str()
                         : rep.family == ChipFamily::Esp8266 ? "esp8266 (x-ESP8266-*)"
                                                             : "esp32 family (x-ESP32-*)";
      out->set_note("%s: device %s, %s %s is %s", d.why, mine, d.image->m.platform.c_str(),
                    d.image->m.version.c_str(), d.image->m.chip.c_str());
    }
    return;
  }
  const Image& img = *d.image;
  if (rep.ask == Ask::Version) {
    out->image = d.image;
    add_digests(out, img);
    out->header("x-version", "%s", img.m.version.c_str());
    out->set_note("version query: %s %s", img.m.platform.c_str(), img.m.version.c_str());
    return;
  }
  if (d.kind == Decision::NoUpdate) {
    out->status = static_cast<int>(x.ctx.cfg->no_update_status);
    if (d.loop_guard) return out->set_note("no update: %s (%s)", d.why, img.m.version.c_str());
    std::string_view ver = rep.version.empty() ? std::string_view("these bytes") : rep.version;
    out->set_note("no update: device has %.*s, catalog %s", static_cast<int>(ver.size()), ver.data(),
                  img.m.version.c_str());
    return;
  }
  if (!admit_body(x, rep, img, out)) return;
  out->entity = Entity::Image;
  out->download = true;
  out->image = d.image;
  out->first = 0;
  out->last = img.m.size - 1;
  add_validators(out, img);
  add_digests(out, img);
  out->set_note("serving %s %s", img.m.platform.c_str(), img.m.version.c_str());
}

}  // namespace otad
