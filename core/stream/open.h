// Opening a stream for walking: map the input, find where the QEMU stream
// starts, and load its description (the trailer, or a separate vmdesc file).
// OpenStream is what the public Dump holds.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "migscope/error.h"
#include "migscope/input.h"
#include "migscope/stream.h"
#include "input/stitched_map.h"
#include "input/stream_window.h"
#include "vmdesc/vmdesc.h"

namespace migscope {

struct OpenStream {
  /// Input bytes the current walk has consumed (Dump::progress): the walker's
  /// offset, or what the decompressor has read of a compressed input.
  std::shared_ptr<std::atomic<std::uint64_t>> consumed = std::make_shared<std::atomic<std::uint64_t>>(0);
  InputFile file;       ///< the bytes walked: the input (unless `window`)
  InputFile container;  ///< the input as given, when the stream was decompressed or read out of it
  bool contained = false;  ///< `container` holds the input
  /// A qcow2 VM state in plain clusters, mapped in place (`stitched`), is
  /// walked as `view`; empty otherwise.
  std::unique_ptr<StitchedMapping> stitched;
  Bytes view;
  /// A decompressed stream or a qcow2 snapshot's VM state is `streamed`: it
  /// is produced, on its own thread, by a reader from `reopen`, once per
  /// walk that reads it once (WalkOptions::read_once), or into `window`, a
  /// spool that keeps every byte for the walks and passes that read bytes
  /// again (made by the first of them, then kept).
  std::function<Result<std::unique_ptr<SequentialReader>>()> reopen;
  std::uint64_t limit = 0;   ///< the most a streamed input may produce (a bomb beyond)
  mutable std::unique_ptr<StreamWindow> window;       ///< the spool, once made
  mutable std::unique_ptr<StreamWindow> next_once;    ///< a read-once window made by prepare(), for the next walk
  /// The read-once window of the last walk: consumers on worker threads may
  /// still read it after the walk returns (until their finish()).
  mutable std::unique_ptr<StreamWindow> last_once;
  mutable std::optional<std::uint64_t> stream_size;   ///< of a streamed input, once walked to its end
  /// False until a streamed input has been read to its end: its trailer and
  /// description are not known before (the first walk learns them).
  mutable bool description_known = true;
  mutable std::string trailer_json;  ///< the trailer of a streamed input, kept (`trailer` points into it)
  bool streamed() const noexcept { return static_cast<bool>(reopen); }
  /// Whether consumers may drop the walked bytes from the resident set
  /// (MappingReleaser): not those of a read-once window (anonymous memory,
  /// which frees itself), which is what a read-once walk gets without a spool.
  bool releasable(bool read_once) const noexcept { return !(streamed() && !window && read_once); }
  StreamLocation location;
  std::optional<Qcow2Snapshot> snapshot;  ///< the qcow2 snapshot whose VM state `file` is
  mutable std::optional<VmdescTrailer> trailer;  ///< the stream's own trailer, if found
  std::string external_vmdesc;                   ///< text of the external description, if given
  bool strict = false;                           ///< every walk is strict (OpenOptions::strict)
  mutable std::optional<Vmdesc> vmdesc;          ///< parsed description (external wins over the trailer)

  /// The bytes walked (of a window: those produced so far).
  Bytes bytes() const noexcept;
  /// What the spans of the next walk point into (consumers made before it
  /// take this): the mapping; or for a streamed input, with `read_once`, a
  /// read-once window made now for the next read-once walk, else the spool
  /// (made now if need be); their whole reservation, valid up to what has been
  /// produced.
  Result<Bytes> prepare(bool read_once) const;
  /// The input as given (the container of a compressed stream, else the file).
  const InputFile& input() const noexcept { return contained ? container : file; }
  Bytes stream_bytes() const noexcept { return bytes().subspan(location.stream_offset); }
  /// Wait for the whole spool (made if need be) and learn its trailer and description.
  Status complete() const;
  /// A streamed input's bytes, in order, as they are produced (a read-once
  /// window: no temporary file), to `emit` in pieces of at most 8 MiB.
  Status stream_out(const std::function<Status(Bytes piece)>& emit) const;
  /// The walk itself (Dump::walk).
  Result<WalkSummary> walk(StreamVisitor& visitor, WalkOptions options, WalkSummary* partial) const;

 private:
  Result<std::unique_ptr<StreamWindow>> start(bool read_once) const;
  Status learn(std::optional<VmdescTrailer> t, std::optional<Vmdesc> v, std::uint64_t size) const;
  /// Where the stream is in `file`, the bytes walked (decompressed already).
  StreamLocation walk_location() const {
    StreamLocation w = location;
    w.compression = Compression::none;
    w.payload_offset = 0;
    if (w.format == InputFormat::qcow2) w.format = InputFormat::qemu_stream;
    return w;
  }
};

/// Open `path` ("-" for standard input). If `vmdesc_path` is not empty, the
/// description is read from that file (a trailer-less stream, or a replacement).
/// A trailer that does not parse is an error unless an external vmdesc is given.
Result<OpenStream> open_stream(const std::string& path, const OpenOptions& options = {});
/// The same over an input already opened (e.g. spooled from a SequentialReader).
Result<OpenStream> open_stream(InputFile file, const OpenOptions& options = {});

/// The vmdesc JSON text of a migration stream file (for comparing descriptions).
Result<std::string> read_vmdesc_json(const std::string& path);

/// Walk `dump` once if its trailer is not known yet (a decompressed stream's
/// is at its end) or it seems to have none: a stream cut short inside its
/// trailer or before it is that error, not a stream without one.
Status settle_description(const Dump& dump);

}  // namespace migscope
