// Inputs: a file mapped read-only, or a pipe spooled to an unlinked temporary
// file and then mapped (the vmdesc trailer sits at the end of the stream, so a
// pipe costs one temporary copy on disk, never a copy in memory), and where in
// it the QEMU stream starts.
//
// Sources that cannot be mapped (decompressed streams, a qcow2 vmstate spread
// over clusters) will come in as sequential sources; see docs/architecture.md.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "migscope/bytes.h"
#include "migscope/error.h"

namespace migscope {

/// Bytes in order from a source that cannot be mapped: a pipe, a
/// decompressor, a qcow2 vmstate spread over clusters.
class SequentialReader {
 public:
  virtual ~SequentialReader() = default;
  /// Read up to `out.size()` bytes; 0 only at the end of the input.
  virtual Result<std::size_t> read(std::span<std::byte> out) = 0;
  /// What is read, for messages ("-", "save.img (gzip)").
  virtual std::string name() const = 0;
};

/// Reads a file descriptor it does not own.
class FdReader final : public SequentialReader {
 public:
  FdReader(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  Result<std::size_t> read(std::span<std::byte> out) override;
  std::string name() const override { return name_; }

 private:
  int fd_;
  std::string name_;
};

/// A whole input, mapped read-only.
class InputFile {
 public:
  InputFile();
  ~InputFile();
  InputFile(InputFile&&) noexcept;
  InputFile& operator=(InputFile&&) noexcept;

  /// Map `path` read-only; "-" spools standard input first.
  static Result<InputFile> open(const std::string& path);
  /// Copy a sequential source into an unlinked temporary file in $TMPDIR and
  /// map that (disk space equal to the input, no memory): for the passes that
  /// need random access to a source that has none.
  static Result<InputFile> spool(SequentialReader& reader);

  Bytes bytes() const noexcept;
  std::uint64_t size() const noexcept { return bytes().size(); }
  const std::string& path() const noexcept { return path_; }

 private:
  Status map(const std::string& map_path);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
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

/// Whether a file starts like a migration stream or a libvirt save image
/// (false when it cannot be read: the caller's reader reports that).
bool file_starts_like_stream(const std::string& path);

}  // namespace migscope
