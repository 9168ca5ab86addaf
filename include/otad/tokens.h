// Admin API bearer tokens. The file keeps, per token, a name and a salted
// SHA-256 of the token, never the token itself (otactl prints it once, when
// it is made). A token is 32 random bytes in hex: a fast hash is enough, no
// guess can find one. Verification looks at every entry whatever matches,
// so its time does not say how far a guess got.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "otad/result.h"

namespace otad {

class TokenStore {
 public:
  // A missing file holds no tokens; anything malformed is an error (file:line).
  static Result<TokenStore> load(const std::string& path, std::vector<std::string>* errors);
  Status save(const std::string& path) const;  // mode 0600

  // The name of the token this is, or "" when it is none.
  std::string verify(std::string_view token) const;
  // Makes a token under name (letters, digits, - _ .; not taken) and returns it.
  Result<std::string> add(const std::string& name);
  bool revoke(const std::string& name);
  std::vector<std::string> names() const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string name;
    uint8_t salt[16];
    uint8_t hash[32];
  };
  std::vector<Entry> entries_;
};

// "Authorization: Bearer <token>" -> token ("" when the header is not that).
std::string_view bearer_token(std::string_view authorization);

}  // namespace otad
