// XBZRLE page deltas (migration/xbzrle.c): runs of unchanged bytes and runs of
// new bytes, lengths as 1-2 byte ULEB128. Decoding applies the delta in place
// onto the page's previous content.
#pragma once

#include <cstdint>
#include <span>

#include "wire/cursor.h"
#include "migscope/error.h"

namespace migscope {

/// Apply `delta` onto `page` (previous content, overwritten). `offset` is the
/// delta's file offset, for errors. Same acceptance rules as QEMU's decoder.
Status xbzrle_decode(Bytes delta, std::span<std::byte> page, std::uint64_t offset);

/// Encode `page` against `previous` (both the same size) into `out` (at least
/// page size + page size / 64 + 16 bytes). Returns the delta length, 0 if the
/// pages are equal, or -1 if the delta would not fit in `max_len` (QEMU then
/// sends a normal page). For tests and the synthetic stream writer.
long xbzrle_encode(std::span<const std::byte> previous, std::span<const std::byte> page, std::span<std::byte> out,
                   std::size_t max_len);

}  // namespace migscope
