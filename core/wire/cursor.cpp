#include "wire/cursor.h"

#include <cstdio>

namespace migscope {

std::string Cursor::hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

bool Cursor::grow_slow(std::size_t n) const noexcept {
  const std::uint64_t at = static_cast<std::uint64_t>(pos_ - origin_);
  const std::uint64_t want = n > UINT64_MAX - at ? UINT64_MAX : at + n;
  const std::uint64_t filled = growing_->wait_for(want, origin_offset_ + at);
  end_ = origin_ + filled;
  return filled >= want;
}

Error Cursor::truncated(std::size_t n, std::string_view what) const {
  // A source that failed (damaged compressed data) says why, not "truncated".
  if (growing_ && growing_->failure()) return *growing_->failure();
  std::string d = "input ends inside ";
  d += what;
  d += ": need " + std::to_string(n) + " byte" + (n == 1 ? "" : "s") + ", " + std::to_string(remaining()) + " left";
  return make_error(ErrorCode::truncated, offset(), std::move(d));
}

}  // namespace migscope
