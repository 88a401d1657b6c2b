#include "wire/cursor.h"

#include <cstdio>

namespace migscope {

std::string Cursor::hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

Error Cursor::truncated(std::size_t n, std::string_view what) const {
  std::string d = "input ends inside ";
  d += what;
  d += ": need " + std::to_string(n) + " byte" + (n == 1 ? "" : "s") + ", " + std::to_string(remaining()) + " left";
  return make_error(ErrorCode::truncated, offset(), std::move(d));
}

}  // namespace migscope
