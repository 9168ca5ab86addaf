// Small file helpers. The catalog and the devices file are written the
// crash-safe way: temp file, fsync, rename, fsync of the directory.
#pragma once
#include <string>
#include <string_view>

#include "otad/result.h"

namespace otad {

Result<std::string> read_file(const std::string& path, size_t max_bytes);
// mode: permissions of the new file (0600 for files holding secrets).
Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0644);
Status make_dirs(const std::string& path);
std::string dir_of(const std::string& path);
bool file_exists(const std::string& path);

}  // namespace otad
