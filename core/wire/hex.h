// Numbers in messages: offsets and values in hex, as the errors print them.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace migscope {

/// "0x1f".
inline std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

/// "1f" (after a "0x" the message already has).
inline std::string hex_digits(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace migscope
