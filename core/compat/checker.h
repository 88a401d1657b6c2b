// The vmstate static checker: upstream's algorithm (scripts/vmstate-static-
// checker.py, QEMU 10.2) reproduced step for step, producing structured
// findings. Each finding also carries the exact text upstream prints for it,
// so the drop-in is a concatenation and the exit status a count.
//
// Upstream quirks kept in `upstream_text` / `upstream_counted` (and fixed in
// the structured record):
//  * a top-level "minimum version" error prints only `Section "S" ` (no
//    newline, not counted): the rest of the message sits under `if desc:`;
//  * a description named "" counts as "no description" in the version and size
//    messages (Python's `if desc:`);
//  * `unused size mismatch near " F"` has a stray space after the quote;
//  * the machine-type warning is not counted; the count saturates at 255.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compat/renames.h"
#include "compat/vmstate_model.h"

namespace migscope::compat {

enum class Severity : std::uint8_t {
  info,     ///< no effect on migration (machine-type note, subsection only in dest)
  warning,  ///< often a false positive of static dumps (absent device class, in-memory size, subsection gated by needed())
  error,    ///< the destination cannot load what the source sends
};

std::string_view severity_name(Severity s) noexcept;
/// "info" | "warning" | "error" → true and `out`; anything else → false.
bool parse_severity(std::string_view name, Severity& out) noexcept;

enum class FindingKind : std::uint8_t {
  // Upstream's messages (peers.md §2.3 numbers in brackets).
  machine_mismatch,      ///< [1] vmschkmachine names differ
  section_missing,       ///< [2] section absent from dest (after renames)
  entry_missing,         ///< [3][7] a key of a section or description absent from dest
  version_too_new,       ///< [4] src version_id > dest version_id
  minimum_version,       ///< [5] src version_id < dest minimum_version_id
  description_renamed,   ///< [6] vmsd names differ
  field_mismatch,        ///< [8] expected field F, got G; rest of the list skipped
  fields_exhausted,      ///< [9] dest has no further fields
  unused_size_mismatch,  ///< [10] VMSTATE_UNUSED bytes do not line up
  subsection_missing,    ///< [11] src subsection unknown to dest
  description_missing,   ///< [12] struct field has no Description in dest
  size_mismatch,         ///< [13] field sizes differ
  // Beyond upstream (never in the drop-in's output).
  fields_added,          ///< dest expects more fields at the end of a list than src sends
  subsection_added,      ///< dest knows a subsection src lacks (matters for the reverse direction)
  type_mismatch,         ///< vmdesc field types differ
  page_size_mismatch,    ///< vmdesc page sizes differ
};

std::string_view finding_kind_name(FindingKind k) noexcept;
/// True for the kinds upstream reports.
bool is_upstream_kind(FindingKind k) noexcept;

struct Finding {
  FindingKind kind = FindingKind::section_missing;
  Severity severity = Severity::error;
  std::string section;      ///< src top-level key
  std::string description;  ///< vmsd name where found ("" at section level)
  std::string path;         ///< description names from the section root, '/'-joined
  std::string field;        ///< field / entry / subsection concerned ("" if none)
  std::string src;          ///< src value compared (name, version, size)
  std::string dest;         ///< dest value compared
  std::string message;      ///< one complete line (upstream wording where it has one)
  std::string upstream_text;  ///< exactly what upstream prints (may lack the newline, or be empty)
  bool upstream_counted = false;  ///< upstream bumps its error count for it
  std::string id;           ///< stable id: hash of kind, section, path, field, src, dest
};

struct CheckReport {
  std::vector<Finding> findings;
  std::vector<std::string> sections;  ///< src sections checked, in order (the machine entry excluded)
  std::string src_machine, dest_machine;

  /// Upstream's stdout: the concatenated upstream texts.
  std::string upstream_output() const;
  /// Upstream's exit status: counted findings, saturated at 255.
  int upstream_exit_status() const;
};

/// Check migration from `src` to `dest` (swap the arguments for --reverse).
CheckReport check_vmstate(const VmstateDump& src, const VmstateDump& dest, const RenameTable& renames);

/// Compare two vmdesc trailers (the JSON texts), e.g. of an old and a new
/// QEMU's streams for the same guest. Errors name the document and JSON path.
Result<CheckReport> compare_vmdesc(std::string_view src_json, std::string_view dest_json,
                                   const RenameTable& renames);

/// The stable id of a finding from its identifying fields.
std::string finding_id(const Finding& f);

}  // namespace migscope::compat
