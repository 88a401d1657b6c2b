// A view of input bytes: every payload migscope hands out points into the
// input (a file mapping), never into a copy.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace migscope {

using Bytes = std::span<const std::byte>;

inline std::string_view as_chars(Bytes b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace migscope
