// Shared checks of the fuzz targets: an error must be a clean value (a known
// code, an offset inside the input); anything else aborts so libFuzzer keeps
// the input as a crash.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "migscope/error.h"
#include "migscope/input.h"

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

/// What a reader gave when drained.
struct Drained {
  std::vector<std::byte> bytes;
  bool ended = false, failed = false;
  Error error;
};

/// Read `r` to its end, its error, `limit` bytes or `max_calls` calls, in
/// chunks of 1 to `max_chunk` bytes that `pick` varies. An error must be one
/// of `allowed` and stay; the end must stay the end.
inline Drained drain(SequentialReader& r, std::uint64_t limit, std::size_t max_chunk, std::uint8_t pick,
                     std::uint64_t size, std::initializer_list<ErrorCode> allowed, std::size_t max_calls = 4096) {
  Drained d;
  std::vector<std::byte> buf(max_chunk);
  for (std::size_t turn = 1; turn <= max_calls && d.bytes.size() < limit; ++turn) {
    const std::size_t chunk = 1 + ((static_cast<std::size_t>(pick) + 1) * 7919u * turn) % max_chunk;
    auto n = r.read(std::span<std::byte>(buf.data(), chunk));
    if (!n.ok()) {
      check_error(n.error(), size, allowed);
      auto again = r.read(std::span<std::byte>(buf.data(), chunk));
      if (again.ok() || again.error().code != n.error().code || again.error().offset != n.error().offset)
        fail("a failed reader recovered or changed its error", n.error());
      d.failed = true;
      d.error = std::move(n).error();
      return d;
    }
    if (*n > chunk) fail("read() gave more bytes than asked for", Error{});
    if (*n == 0) {
      auto after = r.read(std::span<std::byte>(buf.data(), chunk));
      if (!after.ok() || *after != 0) fail("the end of a reader did not stay the end", Error{});
      d.ended = true;
      return d;
    }
    d.bytes.insert(d.bytes.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  return d;
}

/// Two readers of one VM state, drained in different chunk sizes: the same
/// bytes; where both got to the end (neither stopped at `limit` first), the
/// same end: `expected_size` bytes, or the same error.
struct DrainedTwice {
  Drained a, b;
};
inline DrainedTwice drain_twice(SequentialReader& a, SequentialReader& b, std::uint64_t limit, std::uint8_t pick,
                                std::uint64_t size, std::initializer_list<ErrorCode> allowed, std::uint64_t expected_size) {
  DrainedTwice t{drain(a, limit, 1u << 17, pick, size, allowed), drain(b, limit, 4099, static_cast<std::uint8_t>(pick ^ 0x5a), size, allowed)};
  const Drained &da = t.a, &db = t.b;
  const std::size_t common = std::min(da.bytes.size(), db.bytes.size());
  if (common > 0 && std::memcmp(da.bytes.data(), db.bytes.data(), common) != 0)
    fail("the VM state differs with the chunk size", Error{});
  if ((da.ended || da.failed) && (db.ended || db.failed)) {
    if (da.failed != db.failed) fail("the VM state fails with one chunk size only", da.failed ? da.error : db.error);
    if (da.failed && (da.error.code != db.error.code || da.error.offset != db.error.offset))
      fail("the VM state fails differently with another chunk size", da.error);
  }
  for (const Drained* d : {&da, &db})
    if (d->ended && d->bytes.size() != expected_size) fail("the VM state is not vm_state_size bytes", Error{});
  return t;
}

}  // namespace migscope::fuzz
