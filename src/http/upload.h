// A request body on its way to a file: a temporary file inside the target
// directory (so committing it is a rename on the same filesystem), fed from
// the slot's buffer and hashed as it arrives, so no upload is ever held in
// RAM. Uploads come from a fixed pool sized at start-up; when every one is
// busy the next is refused (503), never queued in memory.
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "otad/digest.h"
#include "otad/result.h"

namespace otad {

struct Upload;

// Sizes the pool (call once at start-up; the default is 2).
void upload_pool_init(size_t slots);
size_t upload_slots_free();

// Why an upload could not go on: out of slots, out of disk, or other I/O.
enum class UploadErr : uint8_t { None, Busy, NoSpace, Io };

// Opens a temporary file in dir for `expected` bytes. nullptr with *err set
// when no slot is free or the file cannot be made; *why says what happened.
Upload* upload_begin(const std::string& dir, uint64_t expected, UploadErr* err, std::string* why);
// Appends bytes (never more than expected in all). After a failure (a full
// disk) the rest of the body is counted and dropped, so the request can
// still be answered in order; upload_failed says what happened.
UploadErr upload_write(Upload* u, std::span<const uint8_t> data, std::string* why);
UploadErr upload_failed(const Upload* u, std::string* why);
uint64_t upload_received(const Upload* u);
uint64_t upload_expected(const Upload* u);
// All bytes in (and none failed): flushed to disk, and their digests.
Result<Digests> upload_finish(Upload* u);
// The temporary file's path and descriptor (for inspection and commit).
const std::string& upload_path(const Upload* u);
int upload_fd(const Upload* u);
// Gives the slot back; the temporary file is removed unless it was renamed
// away (committed) in the meantime.
void upload_end(Upload* u);

}  // namespace otad
