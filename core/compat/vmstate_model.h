// The model of a `-dump-vmstate` document (format.md §7), and of a vmdesc
// trailer (format.md §8) mapped onto the same shape, so one checker serves both.
//
// Parsing validates the document once: every key the checker reads has the
// right JSON type, nesting is bounded, and an error names the JSON path
// (`$.fw_cfg.Description.Fields[3].size: expected an integer`). Objects keep
// their key order and, like Python's json module, a repeated key keeps the
// position of its first occurrence and the value of its last one: upstream's
// checker iterates over keys ("Entry ... missing"), so order is behaviour.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "wire/error.h"

namespace migscope::compat {

struct VmsdDescription;

/// One entry of a description's "Fields" list.
struct VmsdField {
  std::string field;                       ///< "field": the C field name ("unused" for VMSTATE_UNUSED)
  std::int64_t version_id = 0;             ///< "version_id": first section version carrying it
  std::optional<std::int64_t> minimum_version_id;  ///< never emitted by QEMU; read because upstream would
  std::int64_t size = 0;                   ///< "size": in-memory element size (dump) / bytes sent (vmdesc)
  std::optional<std::int64_t> num;         ///< "num": array length (dumps since QEMU 8.1; vmdesc array_len)
  std::optional<bool> field_exists;        ///< "field_exists": a callback exists (not its result)
  std::string type;                        ///< vmdesc "type" ("uint32", "struct", ...); empty for dumps
  std::unique_ptr<VmsdDescription> description;  ///< "Description" of a VMSTATE_STRUCT field
};

/// A VMStateDescription: the top-level "Description", a struct field's, or a subsection.
struct VmsdDescription {
  std::string name;                                ///< "name": vmsd name
  std::int64_t version_id = 0;                     ///< "version_id"
  std::optional<std::int64_t> minimum_version_id;  ///< "minimum_version_id"
  std::optional<std::vector<VmsdField>> fields;    ///< "Fields" (absent in hand-edited dumps)
  std::optional<std::vector<VmsdDescription>> subsections;  ///< "Subsections"
  std::vector<std::string> keys;                   ///< every key, in document order

  bool has_key(std::string_view wanted) const;
};

/// One top-level entry: a device class (dump) or a device section (vmdesc).
struct VmsdSection {
  std::string key;                                 ///< the top-level key (QOM type name / idstr)
  std::optional<std::string> name;                 ///< "Name"
  std::int64_t version_id = 0;                     ///< "version_id"
  std::optional<std::int64_t> minimum_version_id;  ///< "minimum_version_id"
  std::optional<VmsdDescription> description;      ///< "Description"
  std::vector<std::string> keys;                   ///< every key, in document order

  bool has_key(std::string_view wanted) const;
};

/// A whole document. The "vmschkmachine" entry is kept apart from the sections
/// but its position among them is remembered (upstream walks keys in order).
struct VmstateDump {
  enum class Origin : std::uint8_t { dump_vmstate, vmdesc };
  Origin origin = Origin::dump_vmstate;
  std::vector<VmsdSection> sections;                ///< in document order, duplicates merged
  std::optional<std::string> machine;               ///< vmschkmachine.Name
  bool has_machine_entry = false;                   ///< a "vmschkmachine" key exists
  std::size_t machine_position = 0;                 ///< index among sections where it appeared
  std::optional<std::int64_t> page_size;            ///< vmdesc "page_size"

  const VmsdSection* find(std::string_view key) const;
  /// Rebuild the key index (call after editing `sections` by hand).
  void reindex();

 private:
  std::unordered_map<std::string, std::size_t> index_;
};

/// Limits applied while parsing; the defaults are far above anything QEMU emits.
struct ParseLimits {
  std::size_t max_depth = 64;            ///< nested Description / struct / subsection levels
  std::size_t max_bytes = std::size_t{1} << 30;  ///< size of the JSON text
};

/// Parse and validate a `-dump-vmstate` document.
Result<VmstateDump> parse_vmstate_dump(std::string_view json, const ParseLimits& limits = {});

/// Parse and validate a vmdesc trailer (the JSON after the 0x06 byte of a
/// stream) and map it onto the model: one section per device, keyed by its
/// idstr (with "#<instance_id>" appended when the instance id is not 0);
/// vmsd_name → Description.name, version → version_id, struct → Description,
/// array_len → num, index i → field name "name[i]"; fields carry version_id 0
/// (the vmdesc has none) and "type". A ≥8.2 "configuration" entry becomes a
/// section named "configuration".
Result<VmstateDump> parse_vmdesc(std::string_view json, const ParseLimits& limits = {});

/// Either of the above, chosen by shape: a top-level "devices" array means a
/// vmdesc (a -dump-vmstate entry is always an object).
Result<VmstateDump> parse_vmstate_any(std::string_view json, const ParseLimits& limits = {});

/// Read a whole file into memory (ErrorCode::io on failure).
Result<std::string> read_text_file(const std::string& path);

}  // namespace migscope::compat
