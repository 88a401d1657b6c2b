#include "stream/section_readers.h"

#include <cstdio>
#include <string>

#include "wire/hex.h"

namespace migscope {

// spapr/htab: be32 header; 0xffffffff = no HPT; > 0 = htab_shift (first pass);
// 0 = chunks (be32 index, be16 n_valid, be16 n_invalid, n_valid x 16 bytes) up to an all-zero one.
Status read_htab(Cursor& c) {
  MIGSCOPE_ASSIGN(std::uint32_t header, c.read_be32("htab header"));
  if (header != 0) return {};
  for (;;) {
    MIGSCOPE_TRY(c.need(8, "htab chunk header"));
    std::uint32_t index = c.be32();
    std::uint16_t n_valid = c.be16();
    std::uint16_t n_invalid = c.be16();
    if (index == 0 && n_valid == 0 && n_invalid == 0) return {};
    MIGSCOPE_TRY(c.read_bytes(std::size_t{n_valid} * 16, "htab entries"));
  }
}

// s390-storage_attributes: be64 (gfn << 12 | flags): MORE 0x02 + be64 count + bytes; DONE 0x08; EOS 0x01 ends; ERROR 0x04.
Status read_storage_attributes(Cursor& c) {
  for (;;) {
    const std::uint64_t at = c.offset();
    MIGSCOPE_ASSIGN(std::uint64_t v, c.read_be64("storage attributes record"));
    std::uint32_t flags = static_cast<std::uint32_t>(v & 0xfff);
    if (flags & 0x04) return make_error(ErrorCode::corrupt, at, "storage attributes: the source reported an error (ERROR flag)");
    if (flags & 0x02) {
      MIGSCOPE_ASSIGN(std::uint64_t count, c.read_be64("storage attributes count"));
      if (count > SIZE_MAX || !c.has(static_cast<std::size_t>(count)))
        return make_error(ErrorCode::truncated, c.offset() - 8,
                          "storage attributes count " + std::to_string(count) + " exceeds the bytes left");
      c.skip(static_cast<std::size_t>(count));
      continue;
    }
    if (flags & 0x08) continue;
    if (flags & 0x01) return {};
    return make_error(ErrorCode::corrupt, at, "storage attributes record with unknown flags " + hex(flags));
  }
}

// s390-skeys (old-style): be64 (addr | flags): SKEYS 0x02 + be64 count + count key bytes; EOS 0x01; ERROR 0x04.
Status read_storage_keys(Cursor& c) {
  for (;;) {
    const std::uint64_t at = c.offset();
    MIGSCOPE_ASSIGN(std::uint64_t v, c.read_be64("storage keys record"));
    std::uint32_t flags = static_cast<std::uint32_t>(v & 0xfff);
    if (flags == 0x01) return {};
    if (flags == 0x04) return make_error(ErrorCode::corrupt, at, "storage keys: the source reported an error (ERROR flag)");
    if (flags != 0x02) return make_error(ErrorCode::corrupt, at, "storage keys record with unknown flags " + hex(flags));
    MIGSCOPE_ASSIGN(std::uint64_t count, c.read_be64("storage keys count"));
    if (count > SIZE_MAX || !c.has(static_cast<std::size_t>(count)))
      return make_error(ErrorCode::truncated, c.offset() - 8, "storage keys count " + std::to_string(count) + " exceeds the bytes left");
    c.skip(static_cast<std::size_t>(count));
  }
}

// dirty-bitmap chunks (migration/block-dirty-bitmap.c). The START chunk's
// granularity is a be32 on the wire (the file's header comment says be64).
Status read_dirty_bitmap(Cursor& c) {
  for (;;) {
    const std::uint64_t at = c.offset();
    MIGSCOPE_ASSIGN(std::uint32_t flags, c.read_u8("dirty bitmap flags"));
    if (flags & 0x80) {
      MIGSCOPE_ASSIGN(std::uint8_t b, c.read_u8("dirty bitmap flags"));
      flags = (flags << 8) | b;
      if (flags & 0x80) {
        MIGSCOPE_ASSIGN(std::uint16_t w, c.read_be16("dirty bitmap flags"));
        flags = (flags << 16) | w;
      }
    }
    if (flags & 0x08) MIGSCOPE_TRY(c.read_counted_string("dirty bitmap node name"));
    if (flags & 0x04) MIGSCOPE_TRY(c.read_counted_string("dirty bitmap name"));
    if (flags & 0x10) MIGSCOPE_TRY(c.read_bytes(5, "dirty bitmap start (granularity, flags)"));
    if (flags & 0x40) {
      MIGSCOPE_TRY(c.read_bytes(12, "dirty bitmap chunk (start sector, sector count)"));
      if (!(flags & 0x02)) {
        MIGSCOPE_ASSIGN(std::uint64_t size, c.read_be64("dirty bitmap buffer size"));
        if (size > SIZE_MAX || !c.has(static_cast<std::size_t>(size)))
          return make_error(ErrorCode::truncated, c.offset() - 8, "dirty bitmap buffer size " + std::to_string(size) + " exceeds the bytes left");
        c.skip(static_cast<std::size_t>(size));
      }
    }
    if ((flags & 0x7f) == 0)
      return make_error(ErrorCode::corrupt, at, "dirty bitmap chunk without any known flag (" + hex(flags) + ")");
    if (flags & 0x01) return {};
  }
}

// 7.2 block migration: be64 (sector << 9 | flags): DEVICE_BLOCK 0x01 + name + 1 MiB (unless ZERO_BLOCK 0x08);
// PROGRESS 0x04; EOS 0x02.
Status read_block_migration(Cursor& c) {
  constexpr std::size_t kBlockSize = 1u << 20;
  for (;;) {
    const std::uint64_t at = c.offset();
    MIGSCOPE_ASSIGN(std::uint64_t v, c.read_be64("block migration record"));
    std::uint32_t flags = static_cast<std::uint32_t>(v & 0x1ff);
    if (flags & 0x01) {
      MIGSCOPE_TRY(c.read_counted_string("block device name"));
      if (!(flags & 0x08)) MIGSCOPE_TRY(c.read_bytes(kBlockSize, "block data (1 MiB)"));
    } else if (flags & 0x04) {
      // progress report, nothing follows
    } else if (!(flags & 0x02)) {
      return make_error(ErrorCode::corrupt, at, "block migration record with unknown flags " + hex(flags));
    }
    if (flags & 0x02) return {};
  }
}

// vfio: be64 markers; DEV_DATA_STATE carries be64 size + data; END_OF_STATE ends the body.
Result<VfioEnd> read_vfio(Cursor& c) {
  constexpr std::uint64_t kEnd = 0xffffffffef100001ull, kConfig = 0xffffffffef100002ull,
                          kSetup = 0xffffffffef100003ull, kData = 0xffffffffef100004ull,
                          kInitSent = 0xffffffffef100005ull, kLoadReady = 0xffffffffef100006ull;
  for (;;) {
    const std::uint64_t at = c.offset();
    MIGSCOPE_ASSIGN(std::uint64_t marker, c.read_be64("vfio marker"));
    if (marker == kEnd) return VfioEnd::end_of_state;
    if (marker == kData) {
      MIGSCOPE_ASSIGN(std::uint64_t size, c.read_be64("vfio data size"));
      if (size > SIZE_MAX || !c.has(static_cast<std::size_t>(size)))
        return make_error(ErrorCode::truncated, c.offset() - 8, "vfio data size " + std::to_string(size) + " exceeds the bytes left");
      c.skip(static_cast<std::size_t>(size));
    } else if (marker == kConfig) {
      return VfioEnd::config_state;
    } else if (marker != kSetup && marker != kInitSent && marker != kLoadReady) {
      return make_error(ErrorCode::corrupt, at, "unknown vfio marker " + hex(marker));
    }
  }
}

}  // namespace migscope
