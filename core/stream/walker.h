// The stream walker: header, configuration, commands (recursing into PACKAGED
// blobs), sections with their footers, and the vmdesc trailer. Section bodies
// are read by kind: RAM records, device state through the vmdesc, the other
// iterative formats structurally, and undescribed sections up to their footer.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "input/input.h"
#include "stream/events.h"
#include "vmdesc/vmdesc.h"
#include "wire/cursor.h"
#include "wire/error.h"

namespace migscope {

struct WalkOptions {
  const Vmdesc* vmdesc = nullptr;          ///< description of device sections, if any
  std::optional<std::uint64_t> page_size;  ///< override the target page size
  /// The input is a read-only file mapping: pages behind the walk may be
  /// dropped from the resident set (never set this for memory you own).
  bool release_behind = false;
  /// With release_behind: threads that map the input ahead of the walk and
  /// release it behind (see MappingReleaser); 0 = the walking thread does it.
  unsigned prefetch_threads = 0;
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

}  // namespace migscope
