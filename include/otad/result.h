// Errors travel up as values: a Result holds either a value or a reason.
// Only the edge (main, the connection driver, otactl) logs or prints them.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace otad {

struct Error {
  std::string msg;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::move(v)) {}          // NOLINT: implicit by design
  Result(Error e) : v_(std::move(e)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const std::string& error() const { return std::get<1>(v_).msg; }

 private:
  std::variant<T, Error> v_;
};

using Status = Result<std::monostate>;
inline Status Ok() { return std::monostate{}; }
inline Error Err(std::string msg) { return Error{std::move(msg)}; }

}  // namespace otad
