// A bounded, zero-copy reader over a byte range of the input. It bounds-checks
// once per record (`need`), then the unchecked reads advance; payloads come back
// as spans into the mapping. Offsets are absolute file offsets.
//
// A cursor may read a range that is still growing (a stream decompressed on
// another thread into a region of address space): then a check that finds too
// few bytes first waits for more (GrowingRange), once per window, never per
// record.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "migscope/bytes.h"
#include "migscope/error.h"
#include "wire/endian.h"

namespace migscope {

/// A byte range filled front to back while it is read. Its first byte is the
/// first byte of the cursor's range.
class GrowingRange {
 public:
  virtual ~GrowingRange() = default;
  /// Wait until at least `size` bytes are filled or the range has ended;
  /// return how many are filled then (less than `size` only at its end).
  /// `position`: where the reader is; a range may forget what lies more than
  /// retained_behind() bytes before it.
  virtual std::uint64_t wait_for(std::uint64_t size, std::uint64_t position) = 0;
  /// Why the range ended early (a damaged source), or null.
  virtual const Error* failure() const noexcept = 0;
  /// How far behind the reader's position bytes stay readable (UINT64_MAX: all).
  virtual std::uint64_t retained_behind() const noexcept { return UINT64_MAX; }
};

class Cursor {
 public:
  Cursor() = default;
  /// `bytes` starts at file offset `file_offset`.
  explicit Cursor(Bytes bytes, std::uint64_t file_offset = 0) noexcept
      : pos_(bytes.data()), end_(bytes.data() + bytes.size()), origin_(bytes.data()), origin_offset_(file_offset) {}
  /// Over `range`, whose bytes start at `base` and of which `filled` are there now.
  Cursor(const std::byte* base, std::uint64_t filled, GrowingRange* range, std::uint64_t file_offset = 0) noexcept
      : pos_(base), end_(base + filled), origin_(base), origin_offset_(file_offset), growing_(range) {}

  std::uint64_t offset() const noexcept { return origin_offset_ + static_cast<std::uint64_t>(pos_ - origin_); }
  /// Bytes there now (a growing range may get more: see has()).
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }
  bool at_end() const noexcept { return pos_ == end_ && !grow(1); }
  /// Whether `n` more bytes exist (waiting for a growing range to get them).
  bool has(std::size_t n) const noexcept { return n <= remaining() || grow(n); }
  /// Wait until a growing range has ended, so remaining() is all there is.
  void fill_to_end() const noexcept { grow(SIZE_MAX); }
  /// Whether this cursor reads a range that was still growing when made.
  bool growing() const noexcept { return growing_ != nullptr; }
  const std::byte* data() const noexcept { return pos_; }
  /// File offset of an address inside this cursor's range.
  std::uint64_t offset_of(const std::byte* p) const noexcept {
    return origin_offset_ + static_cast<std::uint64_t>(p - origin_);
  }

  /// Check that `n` more bytes exist; `what` names the record being read.
  Status need(std::size_t n, std::string_view what) const {
    if (n <= remaining() || grow(n)) [[likely]] return {};
    return truncated(n, what);
  }

  // Unchecked reads: call need() first for the whole record.
  std::uint8_t u8() noexcept { assert(remaining() >= 1); return static_cast<std::uint8_t>(*pos_++); }
  std::uint16_t be16() noexcept { assert(remaining() >= 2); auto v = load_be16(pos_); pos_ += 2; return v; }
  std::uint32_t be32() noexcept { assert(remaining() >= 4); auto v = load_be32(pos_); pos_ += 4; return v; }
  std::uint64_t be64() noexcept { assert(remaining() >= 8); auto v = load_be64(pos_); pos_ += 8; return v; }
  Bytes bytes(std::size_t n) noexcept { assert(remaining() >= n); Bytes b{pos_, n}; pos_ += n; return b; }
  void skip(std::size_t n) noexcept { assert(remaining() >= n); pos_ += n; }

  // Checked reads for single fields.
  Result<std::uint8_t> read_u8(std::string_view what) { MIGSCOPE_TRY(need(1, what)); return u8(); }
  Result<std::uint16_t> read_be16(std::string_view what) { MIGSCOPE_TRY(need(2, what)); return be16(); }
  Result<std::uint32_t> read_be32(std::string_view what) { MIGSCOPE_TRY(need(4, what)); return be32(); }
  Result<std::uint64_t> read_be64(std::string_view what) { MIGSCOPE_TRY(need(8, what)); return be64(); }
  Result<Bytes> read_bytes(std::size_t n, std::string_view what) { MIGSCOPE_TRY(need(n, what)); return bytes(n); }
  Result<std::uint8_t> peek_u8(std::string_view what) const {
    MIGSCOPE_TRY(need(1, what));
    return static_cast<std::uint8_t>(*pos_);
  }
  /// u8 length + that many bytes (QEMU's counted string, no NUL).
  Result<std::string_view> read_counted_string(std::string_view what) {
    MIGSCOPE_TRY(need(1, what));
    std::size_t len = static_cast<std::uint8_t>(*pos_);
    MIGSCOPE_TRY(need(1 + len, what));
    ++pos_;
    return as_chars(bytes(len));
  }
  /// A bounded sub-cursor over the next `n` bytes; this cursor moves past them.
  Result<Cursor> sub(std::size_t n, std::string_view what) {
    MIGSCOPE_TRY(need(n, what));
    Cursor c{Bytes{pos_, n}, offset()};
    pos_ += n;
    return c;
  }
  /// Move to an absolute file offset inside this cursor's original range.
  Status seek(std::uint64_t file_offset, std::string_view what) {
    if (file_offset > offset()) (void)has(static_cast<std::size_t>(file_offset - offset()));
    std::uint64_t span = static_cast<std::uint64_t>(end_ - origin_);
    if (file_offset < origin_offset_ || file_offset - origin_offset_ > span)
      return make_error(ErrorCode::corrupt, offset(),
                        std::string(what) + ": offset 0x" + hex(file_offset) + " is outside the input (0x" +
                            hex(origin_offset_) + "..0x" + hex(origin_offset_ + span) + ")");
    pos_ = origin_ + (file_offset - origin_offset_);
    return {};
  }

 private:
  [[gnu::cold]] Error truncated(std::size_t n, std::string_view what) const;
  /// With a growing range: wait for `n` more bytes than pos_; true if they came.
  bool grow(std::size_t n) const noexcept {
    if (!growing_) return false;
    return grow_slow(n);
  }
  [[gnu::noinline]] bool grow_slow(std::size_t n) const noexcept;
  static std::string hex(std::uint64_t v);

  const std::byte* pos_ = nullptr;
  // mutable: growing the range moves the end, which is not a change of position.
  mutable const std::byte* end_ = nullptr;
  const std::byte* origin_ = nullptr;
  std::uint64_t origin_offset_ = 0;
  GrowingRange* growing_ = nullptr;  // sub-cursors never grow: they are bounded
};

}  // namespace migscope
