// Input: a file mapped read-only, or a pipe spooled to an unlinked temporary
// file and then mapped (the vmdesc trailer sits at the end of the stream, so a
// pipe costs one temporary copy on disk, never a copy in memory).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "wire/cursor.h"
#include "wire/error.h"

namespace migscope {

class InputFile {
 public:
  InputFile();
  ~InputFile();
  InputFile(InputFile&&) noexcept;
  InputFile& operator=(InputFile&&) noexcept;

  /// Map `path` read-only; "-" reads standard input into a temporary file first.
  static Result<InputFile> open(const std::string& path);

  Bytes bytes() const noexcept;
  std::uint64_t size() const noexcept { return bytes().size(); }
  const std::string& path() const noexcept { return path_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

/// Drop the pages of [from, to) of a file mapping from this process's resident
/// set (they stay in the page cache; touching them again re-faults them). Only
/// for memory that is a read-only file mapping: on anonymous memory this would
/// discard data.
void release_mapped_range(Bytes mapping, std::uint64_t from, std::uint64_t to) noexcept;

/// Fault in [from, to) of a file mapping in one call (MADV_POPULATE_READ);
/// a no-op where the kernel lacks it.
void populate_mapped_range(Bytes mapping, std::uint64_t from, std::uint64_t to) noexcept;

/// Calls release_mapped_range behind a moving position, every `step` bytes, so
/// a sequential pass over a mapping keeps a bounded resident set.
class MappingReleaser {
 public:
  static constexpr std::uint64_t kStep = 8u << 20;
  explicit MappingReleaser(Bytes mapping) : mapping_(mapping) {}
  void advance(std::uint64_t position) noexcept {
    if (position >= released_ + 2 * kStep) {
      release_mapped_range(mapping_, released_, position - kStep);
      released_ = position - kStep;
    }
    if (position + kStep > populated_) {
      // Map the next window in one call instead of a page fault per 4 KiB.
      populate_mapped_range(mapping_, populated_ > position ? populated_ : position, position + 2 * kStep);
      populated_ = position + 2 * kStep;
    }
  }

 private:
  Bytes mapping_;
  std::uint64_t released_ = 0;
  std::uint64_t populated_ = 0;
};

/// What a file is, judged from its first bytes.
enum class InputFormat : std::uint8_t {
  qemu_stream,         ///< 'QEVM' version 3 at `stream_offset`
  libvirt_save,        ///< libvirt save image; uncompressed QEMU stream at `stream_offset`
};

struct StreamLocation {
  InputFormat format = InputFormat::qemu_stream;
  std::uint64_t stream_offset = 0;  ///< file offset of the 'QEVM' magic
};

/// Recognise the input: a QEMU stream (possibly inside an uncompressed libvirt
/// save image) or a clear error naming what the file is instead (empty, ELF
/// core, incomplete or compressed libvirt image, obsolete v2 stream, other).
Result<StreamLocation> locate_stream(Bytes file);

}  // namespace migscope
