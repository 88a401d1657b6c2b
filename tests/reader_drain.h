// Reading a SequentialReader to its end in 1 MiB reads, checking every byte
// against what it must give and watching the resident set of the mapping it
// reads from. Header-only: tests/CMakeLists.txt globs only *_test.cpp.
#pragma once

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "migscope/input.h"
#include "test_paths.h"

namespace migscope::test {

struct Drained {
  std::uint64_t total = 0;         ///< bytes read, all equal to `expected`'s first ones
  std::uint64_t max_resident = 0;  ///< most of the mapping resident at once (UINT64_MAX: not found)
  std::optional<Error> error;      ///< a read error, or a byte that differs (ErrorCode::corrupt)
};

inline Drained drain_checked(SequentialReader& reader, std::string_view expected, const void* mapping) {
  Drained d;
  std::vector<std::byte> buf(1u << 20);
  for (;;) {
    auto n = reader.read(buf);
    if (!n.ok()) {
      d.error = n.error();
      return d;
    }
    if (*n == 0) return d;
    if (d.total + *n > expected.size() || std::memcmp(buf.data(), expected.data() + d.total, *n) != 0) {
      d.error = make_error(ErrorCode::corrupt, d.total, "the bytes read differ from those expected");
      return d;
    }
    d.total += *n;
    d.max_resident = std::max(d.max_resident, mapping_resident_bytes(mapping));
  }
}

}  // namespace migscope::test
