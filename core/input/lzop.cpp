#include "input/lzop.h"

#include "input/input.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include <lzo/lzo1x.h>
#include <zlib.h>

#include "wire/cursor.h"
#include "wire/hex.h"

namespace migscope {

namespace {

constexpr unsigned char kMagic[9] = {0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a};
// lzop 1.04 writes version 0x1040; a header needing more is of a format we do not know.
constexpr std::uint16_t kNewestKnown = 0x1040;
constexpr std::uint16_t kOldestLzop = 0x0900;
// From this version on the header has version_needed, level and mtime_high.
constexpr std::uint16_t kV0940 = 0x0940;
constexpr std::uint32_t kSplitMark = 0xffffffffu;


bool starts_with_magic(Bytes b) {
  return b.size() >= sizeof kMagic && std::memcmp(b.data(), kMagic, sizeof kMagic) == 0;
}

// zlib's Adler-32 and CRC-32 are the sums lzop computes (lzo_adler32,
// lzo_crc32: same definitions, same initial values 1 and 0), and zlib's are
// the faster implementations.
std::uint32_t adler32_of(Bytes b) {
  return static_cast<std::uint32_t>(::adler32_z(1, reinterpret_cast<const Bytef*>(b.data()), b.size()));
}
std::uint32_t crc32_of(Bytes b) {
  return static_cast<std::uint32_t>(::crc32_z(0, reinterpret_cast<const Bytef*>(b.data()), b.size()));
}

const char* method_name(std::uint8_t m) {
  switch (m) {
    case 1: return "LZO1X-1";
    case 2: return "LZO1X-1(15)";
    case 3: return "LZO1X-999";
    case 0x1a: case 0x1b: case 0x2a: case 0x2b: case 0x2d: return "NRV (UCL)";
    case 128: return "zlib";
    default: return "unknown";
  }
}

const char* lzo_error_name(int r) {
  switch (r) {
    case LZO_E_INPUT_OVERRUN: return "the compressed data ends early";
    case LZO_E_OUTPUT_OVERRUN: return "it decompresses to more than the block size";
    case LZO_E_LOOKBEHIND_OVERRUN: return "a match points before the start of the block";
    case LZO_E_EOF_NOT_FOUND: return "no end-of-block marker";
    case LZO_E_INPUT_NOT_CONSUMED: return "bytes left after the end-of-block marker";
    default: return "invalid LZO1X data";
  }
}

// lzop's delta filters (its --filter 1-16, undone per block from a zero
// state): byte k of the block is stored as its difference to byte k - n.
void undo_delta_filter(std::span<std::byte> block, std::uint32_t n) {
  for (std::size_t k = n; k < block.size(); ++k)
    block[k] = static_cast<std::byte>(static_cast<unsigned>(block[k]) + static_cast<unsigned>(block[k - n]));
}

// The checksum fields of a block, in file order, and their offsets.
struct BlockSums {
  std::optional<std::uint32_t> adler_d, crc_d, adler_c, crc_c;
  std::uint64_t adler_d_at = 0, crc_d_at = 0, adler_c_at = 0, crc_c_at = 0;
};

Result<LzopHeader> parse_header(Cursor& c) {
  const std::uint64_t start = c.offset();
  MIGSCOPE_TRY(c.need(sizeof kMagic, "the lzop magic"));
  if (!starts_with_magic(Bytes{c.data(), sizeof kMagic}))
    return make_error(ErrorCode::corrupt, start, "not lzop data: expected the magic 89 4c 5a 4f 00 0d 0a 1a 0a");
  c.skip(sizeof kMagic);
  // The header checksum covers everything from the version to the name.
  const std::byte* const summed = c.data();
  LzopHeader h;
  h.version_needed = kOldestLzop;
  MIGSCOPE_ASSIGN(h.version, c.read_be16("the lzop header (version)"));
  if (h.version < kOldestLzop)
    return make_error(ErrorCode::corrupt, start + 9,
                      "lzop header: version " + hex(h.version) + ", older than any lzop (0x900)");
  MIGSCOPE_ASSIGN(h.lib_version, c.read_be16("the lzop header (library version)"));
  const bool v0940 = h.version >= kV0940;
  if (v0940) {
    const std::uint64_t at = c.offset();
    MIGSCOPE_ASSIGN(h.version_needed, c.read_be16("the lzop header (version needed to extract)"));
    if (h.version_needed > kNewestKnown)
      return make_error(ErrorCode::unsupported, at,
                        "lzop header: needs lzop " + hex(h.version_needed) + " to extract; the format is known up to " +
                            hex(kNewestKnown) + " (lzop 1.04)");
    if (h.version_needed < kOldestLzop)
      return make_error(ErrorCode::corrupt, at,
                        "lzop header: version needed to extract " + hex(h.version_needed) + " is older than any lzop");
  }
  const std::uint64_t method_at = c.offset();
  MIGSCOPE_ASSIGN(h.method, c.read_u8("the lzop header (method)"));
  const std::uint64_t level_at = c.offset();
  if (v0940) {
    MIGSCOPE_ASSIGN(h.level, c.read_u8("the lzop header (level)"));
  }
  const std::uint64_t flags_at = c.offset();
  MIGSCOPE_ASSIGN(h.flags, c.read_be32("the lzop header (flags)"));
  const std::uint64_t filter_at = c.offset();
  if (h.flags & lzop_flags::filter) {
    MIGSCOPE_ASSIGN(h.filter, c.read_be32("the lzop header (filter)"));
  }
  MIGSCOPE_ASSIGN(h.mode, c.read_be32("the lzop header (mode)"));
  MIGSCOPE_ASSIGN(std::uint32_t mtime_low, c.read_be32("the lzop header (mtime)"));
  std::uint32_t mtime_high = 0;
  if (v0940) {
    MIGSCOPE_ASSIGN(mtime_high, c.read_be32("the lzop header (mtime, high half)"));
  }
  h.mtime = (std::uint64_t{mtime_high} << 32) | mtime_low;
  MIGSCOPE_ASSIGN(h.name, c.read_counted_string("the lzop header (file name)"));
  const std::size_t summed_len = static_cast<std::size_t>(c.data() - summed);
  const bool crc = (h.flags & lzop_flags::header_crc32) != 0;
  const std::uint64_t sum_at = c.offset();
  MIGSCOPE_ASSIGN(std::uint32_t stored, c.read_be32("the lzop header (checksum)"));
  const std::uint32_t computed = crc ? crc32_of(Bytes{summed, summed_len}) : adler32_of(Bytes{summed, summed_len});
  if (stored != computed)
    return make_error(ErrorCode::corrupt, sum_at,
                      std::string("lzop header checksum: the ") + (crc ? "CRC-32" : "Adler-32") + " of its " +
                          std::to_string(summed_len) + " bytes is " + hex(computed) + ", the header says " + hex(stored));

  // Checked after the checksum, as lzop does: a damaged header is named as such first.
  if (h.method < 1 || h.method > 3)
    return make_error(ErrorCode::unsupported, method_at,
                      "lzop method " + std::to_string(h.method) + " (" + method_name(h.method) +
                          "): only the LZO1X methods 1-3 are read");
  if (h.level > 9)
    return make_error(ErrorCode::corrupt, level_at,
                      "lzop header: compression level " + std::to_string(h.level) + " (lzop writes 1-9)");
  if (h.flags & lzop_flags::reserved)
    return make_error(ErrorCode::unsupported, flags_at,
                      "lzop header: flags " + hex(h.flags) + " set the reserved bits " +
                          hex(h.flags & lzop_flags::reserved) + ", which lzop 1.04 does not know");
  if (h.filter > 16)
    return make_error(ErrorCode::corrupt, filter_at,
                      "lzop header: filter " + std::to_string(h.filter) + " (lzop's filters are 1-16)");

  if (h.flags & lzop_flags::extra_field) {
    // Its own checksum, over its length field and its bytes.
    const std::byte* const extra = c.data();
    MIGSCOPE_ASSIGN(std::uint32_t len, c.read_be32("the lzop extra field (length)"));
    MIGSCOPE_TRY(c.need(len, "the lzop extra field"));
    c.skip(len);
    const Bytes covered{extra, std::size_t{4} + len};
    const std::uint64_t extra_sum_at = c.offset();
    MIGSCOPE_ASSIGN(std::uint32_t extra_stored, c.read_be32("the lzop extra field (checksum)"));
    const std::uint32_t extra_computed = crc ? crc32_of(covered) : adler32_of(covered);
    if (extra_stored != extra_computed)
      return make_error(ErrorCode::corrupt, extra_sum_at,
                        std::string("lzop extra field checksum: the ") + (crc ? "CRC-32" : "Adler-32") + " of its " +
                            std::to_string(covered.size()) + " bytes is " + hex(extra_computed) +
                            ", the header says " + hex(extra_stored));
  }
  h.size = c.offset() - start;
  return h;
}

// One block buffer, reused; blocks are verified whole before any byte of
// them is handed out, so a reader never returns unchecked data.
class LzopReader final : public SequentialReader {
 public:
  LzopReader(Bytes file, std::string name, std::uint64_t file_offset, LzopHeader header, bool release_behind)
      : cursor_(file, file_offset), file_(file), name_(std::move(name)), header_(header), release_behind_(release_behind) {
    cursor_.skip(static_cast<std::size_t>(header.size));
  }

  Result<std::size_t> read(std::span<std::byte> out) override {
    if (error_) return *error_;
    std::size_t n = 0;
    while (n < out.size()) {
      if (!pending_.empty()) {
        const std::size_t k = std::min(pending_.size(), out.size() - n);
        std::memcpy(out.data() + n, pending_.data(), k);
        pending_ = pending_.subspan(k);
        n += k;
        continue;
      }
      if (done_) break;
      // Where the caller has room for a whole block, it is decompressed
      // straight into the caller's buffer (no copy).
      release_behind();  // (pending_ is empty here)
      auto block = next_block(out.subspan(n));
      if (!block.ok()) {
        error_ = std::move(block).error();
        // The bytes before the damage are good: hand them out first.
        if (n > 0) return n;
        return *error_;
      }
      if (block->in_place) n += block->size;
    }
    return n;
  }
  std::string name() const override { return name_; }

 private:
  struct Block {
    bool in_place = false;  // decompressed into the caller's buffer (else in pending_)
    std::size_t size = 0;
  };

  // Before the next block (every byte of the ones before handed out), the
  // input behind leaves the resident set, in steps.
  void release_behind() noexcept {
    if (!release_behind_) return;
    const auto at = static_cast<std::uint64_t>(cursor_.data() - file_.data());
    if (at >= released_ + kReleaseStep) {
      release_mapped_range(file_, released_, at);
      released_ = at;
    }
  }

  std::string block_context() const {
    return "lzop block " + std::to_string(blocks_ + 1) + " (decompressed bytes from " + hex(produced_) + "): ";
  }
  Error block_error(ErrorCode code, std::uint64_t at, const std::string& what) const {
    return make_error(code, at, block_context() + what);
  }
  // The cursor's reads, with the block named when the input ends inside it.
  Result<std::uint32_t> be32(const char* what) {
    auto r = cursor_.read_be32(what);
    if (!r.ok()) return in_block(std::move(r).error());
    return r;
  }
  Result<Bytes> bytes(std::size_t n, const char* what) {
    auto r = cursor_.read_bytes(n, what);
    if (!r.ok()) return in_block(std::move(r).error());
    return r;
  }
  Error in_block(Error e) const {
    e.detail = block_context() + e.detail;
    return e;
  }

  // Read the next block header; at a member's end marker, go on with the
  // next member or stop. Sets pending_, or writes into `room`.
  Result<Block> next_block(std::span<std::byte> room) {
    const std::uint64_t at = cursor_.offset();
    MIGSCOPE_ASSIGN(std::uint32_t dst_len, be32("a block header (uncompressed size)"));
    if (dst_len == 0) {
      MIGSCOPE_TRY(end_of_member());
      return Block{};
    }
    if (dst_len == kSplitMark)
      return block_error(ErrorCode::corrupt, at,
                         "uncompressed size 0xffffffff, lzop's mark of a split file (which lzop itself cannot read)");
    if (dst_len > kLzopMaxBlock)
      return block_error(ErrorCode::corrupt, at,
                         "uncompressed size " + std::to_string(dst_len) + " is more than lzop's limit of " +
                             std::to_string(kLzopMaxBlock) + " (64 MiB)");
    const std::uint64_t src_at = cursor_.offset();
    MIGSCOPE_ASSIGN(std::uint32_t src_len, be32("a block header (compressed size)"));
    if (src_len == 0 || src_len > dst_len)
      return block_error(ErrorCode::corrupt, src_at,
                         "compressed size " + std::to_string(src_len) + ": expected 1 to the uncompressed size " +
                             std::to_string(dst_len));
    const bool stored = src_len == dst_len;
    BlockSums sums;
    auto sum_field = [&](std::uint32_t flag, bool present, std::optional<std::uint32_t>& v, std::uint64_t& v_at,
                         const char* what) -> Status {
      if (!(header_.flags & flag) || !present) return {};
      v_at = cursor_.offset();
      MIGSCOPE_ASSIGN(v, be32(what));
      return {};
    };
    // The compressed data's sums are only written when it differs from the uncompressed data.
    MIGSCOPE_TRY(sum_field(lzop_flags::adler32_d, true, sums.adler_d, sums.adler_d_at, "a block header (Adler-32)"));
    MIGSCOPE_TRY(sum_field(lzop_flags::crc32_d, true, sums.crc_d, sums.crc_d_at, "a block header (CRC-32)"));
    MIGSCOPE_TRY(sum_field(lzop_flags::adler32_c, !stored, sums.adler_c, sums.adler_c_at,
                           "a block header (Adler-32 of the compressed data)"));
    MIGSCOPE_TRY(sum_field(lzop_flags::crc32_c, !stored, sums.crc_c, sums.crc_c_at,
                           "a block header (CRC-32 of the compressed data)"));
    const std::uint64_t data_at = cursor_.offset();
    MIGSCOPE_ASSIGN(Bytes src, bytes(src_len, "the block data"));

    if (sums.adler_c) MIGSCOPE_TRY(check(*sums.adler_c, adler32_of(src), sums.adler_c_at, "Adler-32", "compressed"));
    if (sums.crc_c) MIGSCOPE_TRY(check(*sums.crc_c, crc32_of(src), sums.crc_c_at, "CRC-32", "compressed"));

    Bytes data = src;
    Block b;
    b.size = dst_len;
    if (!stored || header_.filter != 0) {
      // Decoded into the caller's buffer when it has room, else into ours.
      std::span<std::byte> dst;
      if (room.size() >= dst_len) {
        dst = room.first(dst_len);
        b.in_place = true;
      } else {
        if (buffer_size_ < dst_len) {
          // Not zeroed: a block that claims 64 MiB and holds less costs no memory it does not fill.
          buffer_.reset(new std::byte[dst_len]);
          buffer_size_ = dst_len;
        }
        dst = std::span<std::byte>(buffer_.get(), dst_len);
      }
      if (stored) {
        std::memcpy(dst.data(), src.data(), dst_len);
      } else {
        lzo_uint got = dst_len;
        const int r = ::lzo1x_decompress_safe(reinterpret_cast<const lzo_bytep>(src.data()), src_len,
                                              reinterpret_cast<lzo_bytep>(dst.data()), &got, nullptr);
        if (r != LZO_E_OK)
          return block_error(ErrorCode::corrupt, data_at,
                             std::string("the ") + std::to_string(src_len) + " bytes of LZO1X data do not decompress (" +
                                 lzo_error_name(r) + ", lzo error " + std::to_string(r) + ")");
        if (got != dst_len)
          return block_error(ErrorCode::corrupt, data_at,
                             "the LZO1X data decompresses to " + std::to_string(got) + " bytes, the header says " +
                                 std::to_string(dst_len));
      }
      if (header_.filter != 0) undo_delta_filter(dst, header_.filter);
      data = dst;
    }
    if (sums.adler_d) MIGSCOPE_TRY(check(*sums.adler_d, adler32_of(data), sums.adler_d_at, "Adler-32", "uncompressed"));
    if (sums.crc_d) MIGSCOPE_TRY(check(*sums.crc_d, crc32_of(data), sums.crc_d_at, "CRC-32", "uncompressed"));
    if (!b.in_place) pending_ = data;
    ++blocks_;
    produced_ += dst_len;
    return b;
  }

  Status check(std::uint32_t stored, std::uint32_t computed, std::uint64_t at, const char* sum,
               const char* which) const {
    if (stored == computed) return {};
    return block_error(ErrorCode::corrupt, at,
                       std::string("the ") + sum + " of the " + which + " data is " + hex(computed) +
                           ", the block header says " + hex(stored));
  }

  // After an end marker: another lzop member (lzop -dc reads them in turn),
  // zero padding (which lzop ignores too), or the end.
  Status end_of_member() {
    const Bytes rest{cursor_.data(), cursor_.remaining()};
    if (rest.empty()) {
      done_ = true;
      return {};
    }
    if (starts_with_magic(rest)) {
      MIGSCOPE_ASSIGN(header_, parse_header(cursor_));
      return {};
    }
    if (std::all_of(rest.begin(), rest.end(), [](std::byte x) { return x == std::byte{0}; })) {
      cursor_.skip(rest.size());
      done_ = true;
      return {};
    }
    return make_error(ErrorCode::corrupt, cursor_.offset(),
                      std::to_string(rest.size()) +
                          " bytes after the end of the lzop data are neither another lzop file nor zero padding");
  }

  // The input read so far leaves the resident set every 4 MiB (2 MiB units):
  // with 16 MiB steps, hash -j2 peaked at 104.7 MiB on a 2.95 GB lzop save.
  static constexpr std::uint64_t kReleaseStep = 4u << 20;

  Cursor cursor_;
  Bytes file_;
  std::string name_;
  LzopHeader header_;  // of the member being read
  bool release_behind_;
  std::uint64_t released_ = 0;  // offset in file_ before which the input left the resident set
  std::unique_ptr<std::byte[]> buffer_;  // the block buffer, reused
  std::size_t buffer_size_ = 0;
  Bytes pending_;  // verified bytes not handed out yet (in buffer_ or the input)
  std::optional<Error> error_;
  bool done_ = false;
  std::uint64_t blocks_ = 0, produced_ = 0;
};

}  // namespace

Result<LzopHeader> parse_lzop_header(Bytes file, std::uint64_t file_offset) {
  Cursor c(file, file_offset);
  return parse_header(c);
}

Result<std::unique_ptr<SequentialReader>> make_lzop_reader(Bytes file, std::string name, std::uint64_t file_offset,
                                                           bool release_behind) {
  // lzo_init checks that the library was built with the ABI this code sees.
  static const int init = ::lzo_init();
  if (init != LZO_E_OK)
    return make_error(ErrorCode::io, Error::no_offset, "the LZO library failed its start-up check (lzo_init " +
                                                           std::to_string(init) + ")");
  MIGSCOPE_ASSIGN(LzopHeader header, parse_lzop_header(file, file_offset));
  return std::unique_ptr<SequentialReader>(std::make_unique<LzopReader>(file, std::move(name), file_offset, header, release_behind));
}

}  // namespace migscope
