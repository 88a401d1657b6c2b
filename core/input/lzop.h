// The lzop container (lzop 1.04, src/lzop.c and src/p_lzo.c): a header, then
// blocks of LZO1X data of at most 64 MiB each, each with its own checksums.
// libvirt writes its lzop saves with `lzop -c`; Boost.Iostreams has no lzop
// filter, so this reads the container itself and decompresses each block with
// liblzo2's lzo1x_decompress_safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "migscope/input.h"

namespace migscope {

/// Header flags (lzop's F_*); the other bits name the OS and character set.
namespace lzop_flags {
inline constexpr std::uint32_t adler32_d = 0x0001;     ///< Adler-32 of each block's uncompressed data
inline constexpr std::uint32_t adler32_c = 0x0002;     ///< Adler-32 of each block's compressed data
inline constexpr std::uint32_t stdin_ = 0x0004;        ///< compressed from standard input
inline constexpr std::uint32_t stdout_ = 0x0008;       ///< written to standard output
inline constexpr std::uint32_t extra_field = 0x0040;   ///< an extra field follows the header
inline constexpr std::uint32_t crc32_d = 0x0100;       ///< CRC-32 of each block's uncompressed data
inline constexpr std::uint32_t crc32_c = 0x0200;       ///< CRC-32 of each block's compressed data
inline constexpr std::uint32_t multipart = 0x0400;     ///< one of several files compressed into one stream
inline constexpr std::uint32_t filter = 0x0800;        ///< a filter number follows the flags
inline constexpr std::uint32_t header_crc32 = 0x1000;  ///< the header checksum is a CRC-32, not an Adler-32
/// Bits lzop 1.04 neither defines nor uses for the OS (0xff000000) and the
/// character set (0x00f00000): lzop refuses a file with any of them.
inline constexpr std::uint32_t reserved = ~(0x00003fffu | 0xff000000u | 0x00f00000u);
}  // namespace lzop_flags

/// The LZO methods lzop writes; migscope reads these three (all LZO1X, one decompressor).
enum class LzopMethod : std::uint8_t { lzo1x_1 = 1, lzo1x_1_15 = 2, lzo1x_999 = 3 };

/// Largest uncompressed block lzop accepts (its MAX_BLOCK_SIZE; it writes 256 KiB).
inline constexpr std::uint32_t kLzopMaxBlock = 64u << 20;

struct LzopHeader {
  std::uint16_t version = 0;         ///< of the lzop that wrote it (0x1040 for 1.04)
  std::uint16_t lib_version = 0;     ///< of its LZO library
  std::uint16_t version_needed = 0;  ///< lzop version needed to extract (0x0900 if not stored)
  std::uint8_t method = 0;           ///< LzopMethod
  std::uint8_t level = 0;            ///< 1-9 (0 in the file means the method's default, as stored)
  std::uint32_t flags = 0;           ///< lzop_flags
  std::uint32_t filter = 0;          ///< 0, or a delta filter over 1-16 bytes
  std::uint32_t mode = 0;            ///< the original file's mode
  std::uint64_t mtime = 0;           ///< the original file's mtime (seconds)
  std::string_view name;             ///< the original file name (a view into the input; empty from a pipe)
  std::uint64_t size = 0;            ///< bytes from the magic to the first block (extra field included)
};

/// Parse the header of the lzop file `file` (which starts at `file_offset` in
/// its own file, for messages): ErrorCode::corrupt for a bad magic, checksum
/// or value, truncated if it ends early, unsupported for a method other than
/// LZO1X, reserved flags, or a file needing a newer lzop.
Result<LzopHeader> parse_lzop_header(Bytes file, std::uint64_t file_offset);

/// A reader of the uncompressed bytes of `file` (which must outlive it): every
/// member when several lzop files follow one another (as `lzop -dc` reads
/// them), zero padding after the last one ignored. Every checksum present is
/// verified before a block's bytes are handed out; errors name the file
/// offset of what is wrong and stay (a failed reader keeps failing).
/// `release_behind`: `file` is a read-only file mapping, whose pages behind
/// the reader leave the resident set as it goes (release_mapped_range; they
/// stay in the page cache). Pass false for memory you own: released, it would
/// read back as zeros.
Result<std::unique_ptr<SequentialReader>> make_lzop_reader(Bytes file, std::string name, std::uint64_t file_offset,
                                                           bool release_behind = true);

}  // namespace migscope
