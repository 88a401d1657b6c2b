// An incomplete libvirt save (magic 'LibvirtQemudPart': libvirt writes it
// first and the real magic once the save completed; see
// LibvirtHeader::complete): the error every operation reports for one.
// Operations that can keep going (info, state) read what it holds first.
#pragma once

#include <optional>
#include <string>

#include "input/input.h"
#include "migscope/stream.h"

namespace migscope::ops {

inline bool is_incomplete_save(const Dump& dump) noexcept {
  const LibvirtHeader* h = dump.libvirt();
  return h != nullptr && !h->complete;
}

/// Before reading: the error an incomplete save is (ErrorCode::truncated, at
/// its magic), with Remedy::keep_going where the caller can ask for what it
/// holds. Null for any other input.
inline std::optional<Error> refuse_incomplete_save(const Dump& dump, bool can_keep_going) {
  if (!is_incomplete_save(dump)) return std::nullopt;
  return make_error(ErrorCode::truncated, 0, std::string(kIncompleteSaveText),
                    can_keep_going ? Remedy::keep_going : Remedy::none);
}

/// After reading what it holds: the same error, where its stream stopped
/// (`damage`, the walk's error) or saying that the stream read to its end.
inline Error incomplete_save_read(const Error* damage) {
  if (damage == nullptr)
    return make_error(ErrorCode::truncated, 0,
                      std::string(kIncompleteSaveText) + ", although its stream reads to its end");
  return make_error(ErrorCode::truncated, damage->offset,
                    std::string(kIncompleteSaveText) + ": its stream stops here: " + damage->detail);
}

}  // namespace migscope::ops
