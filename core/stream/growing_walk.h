// Walking a stream that is still being produced (decompressed, or read out of
// a qcow2 snapshot, on another thread) while it is walked. Its description, the
// vmdesc trailer, comes last: a deferred walk keeps the sections that need it
// aside (their bytes, bounded), reads on, and decodes them once the trailer is
// read, reporting every section and command in stream order; RAM pages flow
// to the visitor as they come.
#pragma once

#include <optional>

#include "migscope/stream.h"
#include "vmdesc/vmdesc.h"
#include "wire/cursor.h"

namespace migscope {

struct GrowingInput {
  const std::byte* base = nullptr;  ///< first byte of the range (file offset 0 of what is walked)
  std::uint64_t reserved = 0;       ///< address space reserved for it (the most it may grow to)
  GrowingRange* range = nullptr;
};

/// What a deferred walk learnt at the end.
struct DeferredWalk {
  /// The walk could not go on without the description (no section footers,
  /// a configuration subsection only it describes, another page size): walk
  /// the whole stream again once the description is known.
  bool needs_description = false;
  /// Then: what the visitor has been given already, so the second walk can
  /// skip it. Sections and commands before `events_from`, pages, RAM block
  /// tables and discards before `delivered_before`, the configuration if
  /// `configuration_delivered`.
  std::uint64_t events_from = 0;
  std::uint64_t delivered_before = 0;
  bool configuration_delivered = false;
  std::optional<VmdescTrailer> trailer;  ///< the stream's trailer, if found
  std::optional<Vmdesc> vmdesc;          ///< parsed from it
};

/// Walk `in` like walk_stream. With `deferred` (and no options.vmdesc), sections
/// that need the description wait for the trailer, and `deferred` receives it;
/// with `deferred`, a walk that cannot be done over `in` (see needs_description,
/// also: mapped-ram in a window that forgets) stops and says so there.
Result<WalkSummary> walk_growing(const GrowingInput& in, const StreamLocation& where, const WalkOptions& options,
                                 StreamVisitor& visitor, WalkSummary* partial, DeferredWalk* deferred);

}  // namespace migscope
