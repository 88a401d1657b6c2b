// Decoded device state: a small tree per section, built by the vmdesc decoder
// and rendered by sinks. Names and raw bytes are views into the vmdesc or the
// mapping, never copies.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "migscope/bytes.h"

namespace migscope {

struct FieldValue {
  // Declared so that clang can check std::pair<string_view, FieldValue> while
  // FieldValue is still incomplete (libstdc++ 12).
  FieldValue() {}

  enum class Kind : std::uint8_t {
    signed_int,    ///< upstream VMSDFieldInt: rendered hex, plus decimal when negative
    unsigned_int,  ///< upstream VMSDFieldUInt
    boolean,
    bytes,         ///< raw bytes (buffers, timers, unknown types): hex pairs
    null_marker,   ///< a NULL pointer element (0x30)
    text,          ///< a counted string (capability names)
    object,        ///< struct fields and subsections, in stream order
    list,          ///< fields sharing one name (arrays)
  };

  Kind kind = Kind::bytes;
  bool flag = false;  ///< boolean value
  Bytes raw;          ///< the bytes read for scalars (ints keep their width); text for `text`
  std::vector<std::pair<std::string_view, FieldValue>> members;
  std::vector<FieldValue> items;

  /// Insert a field the way upstream merges: a repeated name turns into a list.
  void add_field(std::string_view name, FieldValue v);
  /// Insert or replace by name, keeping the first position (a dict assignment).
  void set_member(std::string_view name, FieldValue v);
};

}  // namespace migscope
