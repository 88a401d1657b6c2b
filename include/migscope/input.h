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
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  /// need random access to a source that has none. More than `max_bytes` is
  /// refused (ErrorCode::unsupported): a decompression bomb must not fill the disk.
  static Result<InputFile> spool(SequentialReader& reader, std::uint64_t max_bytes = UINT64_MAX);

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
  libvirt_save,        ///< libvirt save image (virsh save, managedsave, snapshot memory)
  qcow2,               ///< qcow2 disk image: the stream is a snapshot's VM state (Dump::open picks it)
};

/// How the QEMU stream is compressed inside its file (a libvirt save of
/// format 1-5, or a whole file such as a compressed `virsh dump`).
enum class Compression : std::uint8_t { none, gzip, bzip2, xz, lzop, zstd };
std::string_view compression_name(Compression c) noexcept;
/// The container as messages name it: "qemu", "libvirt-save" or "qcow2".
std::string_view input_format_name(InputFormat f) noexcept;
/// 16 raw bytes as 8-4-4-4-12 lowercase hex (a configuration's or a domain's UUID).
std::string uuid_text(Bytes u);

/// The 92-byte header of a libvirt save image (libvirt src/qemu/qemu_saveimage.h)
/// and the domain XML after it.
struct LibvirtHeader {
  /// 'LibvirtQemudSave'. False: 'LibvirtQemudPart', which libvirt writes first and
  /// rewrites once the save completed, so the save never finished (libvirt refuses
  /// to restore it); its stream is located all the same, and the operations name
  /// it (ErrorCode::truncated), or with keep-going read what it holds.
  bool complete = true;
  bool big_endian = false;       ///< byte order of the host that wrote it
  std::uint32_t version = 0;
  std::uint32_t data_len = 0;    ///< bytes between the header and the QEMU stream
  std::uint32_t was_running = 0;
  std::uint32_t format = 0;      ///< 0 raw, 1 gzip, 2 bzip2, 3 xz, 4 lzop, 5 zstd, 6 sparse
  std::uint32_t cookie_offset = 0;
  std::string_view xml;          ///< the domain XML (to its NUL), a view into the file
  std::string_view cookie;       ///< the cookie XML, if any
};
/// "raw", "gzip", ..., "sparse", or "format N".
std::string libvirt_format_name(std::uint32_t format);

struct StreamLocation {
  InputFormat format = InputFormat::qemu_stream;
  /// Offset of the 'QEVM' magic in the bytes walked: the file, or for a
  /// compressed stream the decompressed bytes.
  std::uint64_t stream_offset = 0;
  Compression compression = Compression::none;
  std::uint64_t payload_offset = 0;  ///< where the compressed payload starts in the file
  std::optional<LibvirtHeader> libvirt;
};

/// Recognise the input: a QEMU stream, possibly inside a libvirt save image
/// (complete or not: see LibvirtHeader::complete) and possibly compressed
/// (then `compression` says how and the stream must be decompressed from
/// `payload_offset`), or a clear error naming what the file is instead
/// (empty, ELF core, obsolete v2 stream, other).
Result<StreamLocation> locate_stream(Bytes file);

/// The compression a file's first bytes announce (gzip 1f 8b, bzip2 "BZh",
/// xz fd 37 7a 58 5a 00, zstd 28 b5 2f fd, lzop 89 4c 5a 4f), or none.
Compression sniff_compression(Bytes head) noexcept;

/// An internal snapshot of a qcow2 image (QEMU docs/interop/qcow2.txt).
struct Qcow2Snapshot {
  std::string id, name;
  std::uint64_t vm_state_size = 0;  ///< bytes of savevm stream (0: a disk-only snapshot)
  std::uint64_t disk_size = 0;      ///< virtual disk size when it was taken
  std::uint64_t vm_clock_nsec = 0;
  std::uint32_t date_sec = 0, date_nsec = 0;
  std::uint64_t l1_table_offset = 0;
  std::uint32_t l1_size = 0;
  std::uint64_t entry_offset = 0;   ///< where its entry is in the snapshot table
};

/// What migscope needs of a qcow2 image's header, and its snapshot table.
struct Qcow2Image {
  std::uint32_t version = 0, cluster_bits = 0;
  std::uint64_t size = 0;           ///< virtual disk size now
  bool extended_l2 = false;         ///< subclusters (incompatible feature bit 4)
  std::uint8_t compression_type = 0;  ///< 0 deflate, 1 zstd (for compressed clusters)
  std::vector<Qcow2Snapshot> snapshots;
};

/// Read and check a qcow2 header and its snapshot table (encrypted images and
/// external data files are ErrorCode::unsupported).
Result<Qcow2Image> read_qcow2(Bytes file);

/// The snapshot `which` names (its id or its name); with `which` empty, the
/// only snapshot that has a VM state. A usage error listing them otherwise.
Result<const Qcow2Snapshot*> choose_snapshot(const Qcow2Image& image, std::string_view which);

/// A disk of the domain XML.
struct DomainDisk {
  std::string device;  ///< "disk", "cdrom", ...
  std::string type;    ///< "file", "block", "network", ...
  std::string source;  ///< file, dev, or name (network)
  std::string target;  ///< "vda", "sda", ...
  std::string format;  ///< driver type: "qcow2", "raw", ...
};

/// What users look for first in a libvirt domain XML.
struct DomainSummary {
  std::string name, uuid, type;  ///< type: "kvm", "qemu"
  std::string arch, machine;     ///< of <os><type>
  std::string emulator;
  std::uint64_t memory_kib = 0;  ///< <memory>, converted from its unit
  std::uint32_t vcpus = 0;
  std::vector<DomainDisk> disks;
};

/// Parse the fields of DomainSummary from a domain XML (a tolerant reader of
/// the subset libvirt writes: elements, attributes, entities, comments).
Result<DomainSummary> summarize_domain_xml(std::string_view xml);

/// Whether a file starts like a migration stream or a libvirt save image
/// (false when it cannot be read: the caller's reader reports that).
bool file_starts_like_stream(const std::string& path);

}  // namespace migscope
