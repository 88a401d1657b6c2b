// Opening a stream for walking: map the input, find where the QEMU stream
// starts, and load its description (the trailer, or a separate vmdesc file).
// OpenStream is what the public Dump holds.
#pragma once

#include <optional>
#include <string>

#include "migscope/error.h"
#include "migscope/input.h"
#include "migscope/stream.h"
#include "vmdesc/vmdesc.h"

namespace migscope {

struct OpenStream {
  InputFile file;       ///< the bytes walked: the input, or its decompressed stream
  InputFile container;  ///< the input as given, when `file` was decompressed or read out of it
  bool contained = false;  ///< `container` holds the input
  StreamLocation location;
  std::optional<Qcow2Snapshot> snapshot;  ///< the qcow2 snapshot whose VM state `file` is
  std::optional<VmdescTrailer> trailer;  ///< the stream's own trailer, if found
  std::string external_vmdesc;           ///< text of --vmdesc FILE, if given
  std::optional<Vmdesc> vmdesc;          ///< parsed description (external wins over the trailer)

  Bytes bytes() const noexcept { return file.bytes(); }
  /// The input as given (the container of a compressed stream, else the file).
  const InputFile& input() const noexcept { return contained ? container : file; }
  Bytes stream_bytes() const noexcept { return file.bytes().subspan(location.stream_offset); }
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
