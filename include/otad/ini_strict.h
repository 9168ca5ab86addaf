// A strict front end to inih r55 (Debian's build). Shared by otad.ini, the
// devices file and the catalog manifest.
//
// Why not plain ini_parse(): Debian's r55 splits lines longer than 199
// characters silently and never tells the handler its line number. We feed
// inih one line at a time through ini_parse_stream(), so we know the line of
// every key, and we refuse over-long lines before inih can split them.
// Duplicate keys (and continuation lines, which look like duplicates) are
// errors too: inih would otherwise call the handler twice.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "otad/result.h"

namespace otad {

// Longest line accepted (without its newline). inih's buffer is 200 bytes,
// fgets-style, so 198 characters plus the newline is the most that is safe.
constexpr size_t kIniMaxLine = 198;
// inih cuts section names at 49 characters (MAX_SECTION 50) and key names
// at 49 (MAX_NAME 50); longer ones are refused, not cut.
constexpr size_t kIniMaxSection = 49;

struct IniCallbacks {
  // A [section] header. Return an error reason, or "" to accept.
  std::function<std::string(std::string_view section, int line)> on_section;
  // A key = value line. Return an error reason, or "" to accept.
  std::function<std::string(std::string_view section, std::string_view key,
                            std::string_view value, int line)>
      on_key;
};

// Parses text; every problem is appended to errors as "name:line: reason".
// Returns true when there was none.
bool ini_parse_text(std::string_view name, std::string_view text, const IniCallbacks& cb,
                    std::vector<std::string>* errors);

// Reads the file (at most max_bytes) and parses it as above. A file that
// cannot be read is one error "name: reason".
bool ini_parse_path(const std::string& path, size_t max_bytes, const IniCallbacks& cb,
                    std::vector<std::string>* errors);

}  // namespace otad
