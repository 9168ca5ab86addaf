// Image inspection must survive any bytes an uploader sends.
#include <cstring>

#include "otad/inspect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  otad::ImageInfo r = otad::inspect_image({data, size});
  // Whatever it found must lie inside the input.
  for (int i = 0; i < r.image_count; ++i) {
    if (r.images[i].image_end > size || r.images[i].offset >= size) __builtin_trap();
  }
  if (r.has_app_desc && strlen(r.desc.version) > 32) __builtin_trap();
  return 0;
}
