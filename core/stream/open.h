// Opening a stream for walking: map the input, find where the QEMU stream
// starts, and load its description (the trailer, or a separate vmdesc file).
// OpenStream is what the public Dump holds.
#pragma once

#include <optional>
#include <string>

#include "migscope/error.h"
#include "migscope/input.h"
#include "migscope/stream.h"
#include "input/stream_window.h"
#include "vmdesc/vmdesc.h"

namespace migscope {

struct OpenStream {
  InputFile file;       ///< the bytes walked: the input (unless `window`)
  InputFile container;  ///< the input as given, when the stream was decompressed or read out of it
  bool contained = false;  ///< `container` holds the input
  /// A decompressed stream or a qcow2 snapshot's VM state, produced on its own
  /// thread while the first walk reads it (then kept for later passes).
  std::unique_ptr<StreamWindow> window;
  /// False while the window has not been read to its end: the trailer and the
  /// description are not known yet (the first walk learns them).
  bool description_known = true;
  StreamLocation location;
  std::optional<Qcow2Snapshot> snapshot;  ///< the qcow2 snapshot whose VM state `file` is
  std::optional<VmdescTrailer> trailer;  ///< the stream's own trailer, if found
  std::string external_vmdesc;           ///< text of --vmdesc FILE, if given
  std::optional<Vmdesc> vmdesc;          ///< parsed description (external wins over the trailer)

  /// The bytes walked (of a window: those produced so far).
  Bytes bytes() const noexcept;
  /// What the spans of a walk point into: the bytes walked, or a window's
  /// whole reservation (valid up to what has been produced). Consumers made
  /// before a walk take this.
  Bytes walk_span() const noexcept {
    return window ? Bytes{window->base(), static_cast<std::size_t>(window->reserved())} : file.bytes();
  }
  /// The input as given (the container of a compressed stream, else the file).
  const InputFile& input() const noexcept { return contained ? container : file; }
  Bytes stream_bytes() const noexcept { return bytes().subspan(location.stream_offset); }
  /// Wait for the whole window (if any) and learn its trailer and description.
  Status complete();
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

}  // namespace migscope
