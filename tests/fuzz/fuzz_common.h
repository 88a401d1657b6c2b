// Shared checks of the fuzz targets: an error must be a clean value (a known
// code, an offset inside the input); anything else aborts so libFuzzer keeps
// the input as a crash.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>

#include "migscope/error.h"

namespace migscope::fuzz {

[[noreturn]] inline void fail(const char* what, const Error& e) {
  std::fprintf(stderr, "fuzz invariant violated: %s: code %d (%.*s), offset 0x%llx: %s\n", what,
               static_cast<int>(e.code), static_cast<int>(error_code_name(e.code).size()),
               error_code_name(e.code).data(), static_cast<unsigned long long>(e.offset), e.detail.c_str());
  std::abort();
}

/// An error from reading hostile input: one of `allowed`, offset within `size`
/// (or no offset), a non-empty message.
inline void check_error(const Error& e, std::uint64_t size, std::initializer_list<ErrorCode> allowed) {
  bool known = false;
  for (ErrorCode c : allowed) known = known || c == e.code;
  if (!known) fail("unexpected error code", e);
  if (e.has_offset() && e.offset > size) fail("error offset beyond the input", e);
  if (e.detail.empty()) fail("error without a message", e);
  (void)e.message();
}

/// Whether the check `name` is to be skipped: listed in the environment
/// variable FUZZ_KNOWN_BUGS (comma-separated), for a finding that is known and
/// not fixed yet (scripts/fuzz.sh sets it; the regression replay does not).
inline bool known_bug(std::string_view name) {
  static const std::string known = [] {
    const char* k = std::getenv("FUZZ_KNOWN_BUGS");
    return std::string(k ? k : "");
  }();
  for (std::size_t at = 0; at <= known.size();) {
    std::size_t comma = known.find(',', at);
    if (comma == std::string::npos) comma = known.size();
    if (std::string_view(known).substr(at, comma - at) == name) return true;
    at = comma + 1;
  }
  return false;
}

}  // namespace migscope::fuzz
