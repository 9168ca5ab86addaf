// Replay driver for builds without libFuzzer: runs every file in the given
// directories through the target, then a fixed number of deterministic
// mutations of each (bit flips, truncations, splices), so that every CTest run
// exercises the parser beyond its seeds. Exits non-zero only by crashing.
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {
std::vector<std::vector<uint8_t>> load(const char* dir) {
  std::vector<std::vector<uint8_t>> out;
  DIR* d = opendir(dir);
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(std::string(dir) + "/" + e->d_name, std::ios::binary);
    std::vector<uint8_t> v((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (v.size() <= (4u << 20)) out.push_back(std::move(v));
  }
  closedir(d);
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::vector<uint8_t>> seeds;
  for (int i = 1; i < argc; ++i) {
    auto s = load(argv[i]);
    seeds.insert(seeds.end(), s.begin(), s.end());
  }
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  size_t runs = 0;
  for (const auto& s : seeds) {
    LLVMFuzzerTestOneInput(s.data(), s.size());
    ++runs;
    const int mutations = s.size() > 65536 ? 8 : 200;
    for (int m = 0; m < mutations; ++m) {
      std::vector<uint8_t> v = s;
      switch (next() % 4) {
        case 0:  // flip a few bits
          for (int k = 0; k < 4 && !v.empty(); ++k) v[next() % v.size()] ^= static_cast<uint8_t>(1u << (next() % 8));
          break;
        case 1:  // truncate
          v.resize(v.empty() ? 0 : next() % v.size());
          break;
        case 2:  // overwrite a 4-byte word with an extreme value
          if (v.size() >= 4) {
            size_t at = next() % (v.size() - 3);
            uint32_t x = (next() & 1) ? 0xFFFFFFFFu : static_cast<uint32_t>(next() % 64);
            for (int k = 0; k < 4; ++k) v[at + k] = static_cast<uint8_t>(x >> (8 * k));
          }
          break;
        default: {  // splice with another seed
          const auto& o = seeds[next() % seeds.size()];
          if (!o.empty() && !v.empty()) {
            size_t at = next() % v.size();
            v.resize(at);
            v.insert(v.end(), o.begin() + static_cast<long>(next() % o.size()), o.end());
          }
        }
      }
      LLVMFuzzerTestOneInput(v.data(), v.size());
      ++runs;
    }
  }
  printf("replayed %zu inputs from %zu seeds\n", runs, seeds.size());
  return seeds.empty() ? 1 : 0;
}
