// Decode a device section body through its vmdesc description, with the
// semantics of upstream analyze-migration.py (field readers chosen by type
// string, widths from "size", array_len unfolded, repeated names merged,
// subsections in description order), but bounded and with errors as values.
#pragma once

#include <cstdint>

#include <rapidjson/document.h>

#include "migscope/value.h"
#include "wire/cursor.h"
#include "migscope/error.h"

namespace migscope {

struct DecodeOptions {
  /// QEMU 7.2 describes a NULL element of an array of pointers with the
  /// element's own type but writes only the marker byte 0x30. When set, a
  /// struct element whose first byte is 0x30 where a 0x05/field would not fit
  /// is read as a NULL marker. Used as a second attempt when the footer shows
  /// the literal reading went wrong.
  bool null_marker_for_struct = false;
};

/// Decode the body of one device section at `c` (moved past it). `device` is the
/// vmdesc device object (with "fields" and optional "subsections"); `path` names
/// the section for error messages.
Result<FieldValue> decode_device(const rapidjson::Value& device, Cursor& c, std::string_view path,
                                 const DecodeOptions& options = {});

}  // namespace migscope
