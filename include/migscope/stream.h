// Walking a QEMU migration stream: the walker reads the header, the
// configuration, every command (recursing into PACKAGED blobs), every section
// with its footer and the vmdesc trailer, and reports them to a StreamVisitor
// (migscope/events.h). Section bodies are read by kind: RAM records, device
// state through the vmdesc, the other iterative formats structurally, and
// undescribed sections up to their footer.
//
// Dump is the usual way in: open a file (or "-"), then walk it or hand it to
// an operation (migscope/ops.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "migscope/bytes.h"
#include "migscope/error.h"
#include "migscope/events.h"
#include "migscope/input.h"

namespace migscope {

/// A parsed vmdesc (the stream's JSON description of its device sections); opaque.
class Vmdesc;

struct WalkOptions {
  const Vmdesc* vmdesc = nullptr;          ///< description of device sections, if any (Dump::walk sets it)
  std::optional<std::uint64_t> page_size;  ///< override the target page size
  /// The input is a read-only file mapping: pages behind the walk may be
  /// dropped from the resident set (never set this for memory you own).
  bool release_behind = false;
  /// With release_behind: threads that map the input ahead of the walk and
  /// release it behind (see MappingReleaser); 0 = the walking thread does it.
  unsigned prefetch_threads = 0;
  /// Nothing reads the walked bytes after this walk, nor during it more than
  /// 32 MiB behind the walk's position (consumers on worker threads lag by
  /// at most two batches). A decompressed stream is then produced for this
  /// walk alone into a bounded window in memory, and needs no temporary file;
  /// otherwise it goes to a temporary file that later walks reuse.
  bool read_once = false;
  /// If set, where the walk is (a byte offset of the input) is stored here
  /// now and then (per page batch and section): for progress meters.
  std::atomic<std::uint64_t>* progress = nullptr;
  /// Every recovery the walk would make and warn about (a section end
  /// guessed, a section shown as opaque bytes because it does not match its
  /// description, bytes left over) is instead an error (ErrorCode::corrupt):
  /// for pipelines that must not accept doubtful input.
  bool strict = false;
};

/// How far the current walk of a Dump has come through its input.
struct Progress {
  std::uint64_t done = 0;   ///< bytes of the input (of a compressed input: compressed bytes)
  std::uint64_t total = 0;  ///< the input's size
};

struct WalkSummary {
  std::uint64_t stream_offset = 0;
  std::uint64_t page_size = 0;
  const char* page_size_source = "";   ///< "vmdesc", "configuration", "option" or "default"
  std::optional<Configuration> configuration;
  bool footers = false;                 ///< sections carry footers
  std::optional<std::uint64_t> eof_offset;
  std::optional<std::uint64_t> trailer_offset;  ///< the 0x06 byte of the vmdesc trailer
  std::uint64_t trailer_length = 0;
  std::uint64_t end_offset = 0;          ///< where the walk stopped
  std::uint64_t sections = 0;
  std::uint64_t commands = 0;
  std::vector<RamBlock> ram_blocks;
  std::vector<Warning> warnings;
};

/// Walk the stream that starts at `where.stream_offset` of `file`. On error,
/// `partial` (if given) receives what was learnt before the damage.
Result<WalkSummary> walk_stream(Bytes file, const StreamLocation& where, const WalkOptions& options,
                                StreamVisitor& visitor, WalkSummary* partial = nullptr);

struct OpenStream;

/// How to open an input.
struct OpenOptions {
  /// Decode device sections with this description (a vmdesc JSON file)
  /// instead of the stream's own trailer.
  std::string vmdesc_path;
  /// A qcow2 image: the internal snapshot (id or name) whose VM state to read;
  /// empty: the only one that has a VM state.
  std::string snapshot;
  /// Every walk of this dump is strict (WalkOptions::strict).
  bool strict = false;
};

/// An opened input holding a QEMU stream: mapped, located (plain stream or
/// libvirt save image) and with its description loaded.
class Dump {
 public:
  /// Open `path` ("-" for standard input). If `vmdesc_path` is not empty, the
  /// description is read from that file (for a stream without a trailer, or
  /// to replace it). A trailer that does not parse is an error unless an
  /// external description is given.
  static Result<Dump> open(const std::string& path, const std::string& vmdesc_path = {});
  static Result<Dump> open(const std::string& path, const OpenOptions& options);
  /// Open a source that cannot be mapped: today it is spooled to an unlinked
  /// temporary file first (see docs/architecture.md for the streamed path).
  static Result<Dump> open(SequentialReader& reader, const std::string& vmdesc_path = {});

  Dump(Dump&&) noexcept;
  Dump& operator=(Dump&&) noexcept;
  ~Dump();

  const std::string& path() const noexcept;
  /// The bytes walked: the whole input, mapped, or for a compressed stream
  /// (or a qcow2 snapshot's VM state) its bytes, produced into an unlinked
  /// temporary file. For those, this waits until all are there; where that
  /// can fail (damaged compressed data), use random_access().
  Bytes bytes() const noexcept;
  /// bytes(), or why not all of them could be produced.
  Result<Bytes> random_access() const;
  /// True until the first walk of a decompressed (or qcow2) stream has read
  /// its trailer: vmdesc() and device_count() are not known before.
  bool description_pending() const noexcept;
  /// The size of the bytes walked (of a decompressed stream: known once walked).
  std::uint64_t size() const noexcept;
  /// The size of the input as given (the compressed file, for a compressed stream).
  std::uint64_t input_size() const noexcept;
  /// Where the stream is: container, compression, offsets.
  const StreamLocation& location() const noexcept;
  /// The libvirt save image header and domain XML, for a libvirt save.
  const LibvirtHeader* libvirt() const noexcept;
  /// The qcow2 snapshot whose VM state this is, for a qcow2 image.
  const Qcow2Snapshot* snapshot() const noexcept;
  /// The description device sections are decoded with, or null.
  const Vmdesc* vmdesc() const noexcept;
  /// True when that description came from a file given to open().
  bool vmdesc_from_file() const noexcept;
  /// Devices in the description (0 without one).
  std::size_t device_count() const noexcept;

  /// How far the walk in progress has come (safe from any thread; 0 between walks).
  Progress progress() const noexcept;

  /// Walk the stream with this dump's description; on error, `partial` (if
  /// given) receives what was learnt before the damage.
  Result<WalkSummary> walk(StreamVisitor& visitor, WalkOptions options = {}, WalkSummary* partial = nullptr) const;

  /// The library's own view of the opened stream (for operations in core).
  const OpenStream& stream() const noexcept { return *stream_; }

 private:
  explicit Dump(std::unique_ptr<OpenStream> s);
  std::unique_ptr<OpenStream> stream_;
};

}  // namespace migscope
