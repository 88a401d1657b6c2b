// The vmstate compatibility checker: the model of `-dump-vmstate` documents
// and vmdesc trailers, rename tables, upstream's checking algorithm with
// structured findings, and reports (severities, baselines, text/JSON/JUnit).
// Everything returns values and strings; printing is the caller's business.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "migscope/error.h"

namespace migscope::compat {

// ---- vmstate model
// The model of a `-dump-vmstate` document (format.md §7), and of a vmdesc
// trailer (format.md §8) mapped onto the same shape, so one checker serves both.
//
// Parsing validates the document once: every key the checker reads has the
// right JSON type, nesting is bounded, and an error names the JSON path
// (`$.fw_cfg.Description.Fields[3].size: expected an integer`). Objects keep
// their key order and, like Python's json module, a repeated key keeps the
// position of its first occurrence and the value of its last one: upstream's
// checker iterates over keys ("Entry ... missing"), so order is behaviour.

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
  /// Accept -dump-vmstate documents that lack entries QEMU always writes
  /// ("vmschkmachine"; a section's "Name", "minimum_version_id" and
  /// "Description"; a description's "minimum_version_id"; a field's
  /// "field_exists"), as upstream's checker does (its own test pair has a
  /// section without a Description): the checker then reports them as
  /// missing entries. Without it they are errors: a release gate must not
  /// pass a document that is not QEMU's.
  bool lenient = false;
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

/// The three above, parsing `json` in place: its bytes are overwritten (the
/// text is not copied), so pass a buffer you no longer need.
Result<VmstateDump> parse_vmstate_dump_in_place(std::string& json, const ParseLimits& limits = {});
Result<VmstateDump> parse_vmdesc_in_place(std::string& json, const ParseLimits& limits = {});
Result<VmstateDump> parse_vmstate_any_in_place(std::string& json, const ParseLimits& limits = {});

/// Read a whole file into memory (ErrorCode::io on failure).
Result<std::string> read_text_file(const std::string& path);

// ---- renames
// Rename tables as data: field renames keyed by description name, section
// renames as ordered pairs, with upstream's matching rules (vmstate-static-
// checker.py check_fields_match / get_changed_sec_name).

struct RenameTable {
  /// scope (description or section name) → groups of interchangeable names.
  std::unordered_map<std::string, std::vector<std::vector<std::string>>> fields;
  /// Section renames, tried in order in both directions.
  std::vector<std::pair<std::string, std::string>> sections;

  /// check_fields_match(): equal, or both names in one group of `scope`.
  bool names_match(std::string_view scope, std::string_view a, std::string_view b) const;
  /// get_changed_sec_name(): the other name of the first pair containing
  /// `section`, or "" when none does (upstream then looks "" up in dest).
  std::string changed_section_name(std::string_view section) const;
};

/// Parse a rename file: {"fields": {scope: [names...]}, "sections": [[a, b], ...]};
/// "schema" and "comment" are ignored, any other top-level key is an error.
Result<RenameTable> parse_renames(std::string_view json);

/// The table shipped in core/compat/renames.json (embedded at build time).
Result<RenameTable> builtin_renames();
/// The embedded JSON text itself.
std::string_view builtin_renames_json();

/// Add `more` to `into`: new groups for existing scopes, section pairs appended.
void merge_renames(RenameTable& into, const RenameTable& more);

// ---- checker
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
  // Loading a real dump into a destination (check_load): QEMU's loader rules.
  load_configuration,    ///< configuration section present on one side only
  load_machine,          ///< the machine type received differs from the destination's
  load_capability,       ///< a validated capability differs, or is unknown to the destination
  load_uuid,             ///< validate-uuid: the UUIDs differ (or the destination has none)
  load_page_bits,        ///< target page bits differ
  load_command,          ///< a command the destination's QEMU does not know, or cannot obey
  load_section,          ///< a section (idstr, instance) the destination does not have
  load_version,          ///< a section or subsection version outside the destination's range
  load_subsection,       ///< a subsection in the dump the destination's description does not know
  load_fields,           ///< the fields sent do not fit the destination's description
  load_footer,           ///< section footers on one side only
  load_ramblock,         ///< a RAM block the destination does not have
  load_ram_size,         ///< a RAM block of another size
  load_page_kind,        ///< page records the destination is not set up to accept (compressed pages)
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
  std::string qemu_error;   ///< load checks: the line a QEMU destination prints for it, if any
  std::uint64_t offset = ~std::uint64_t{0};  ///< load checks: where in the dump (no offset: ~0)
};

struct CheckReport {
  std::vector<Finding> findings;
  std::vector<std::string> sections;  ///< src sections checked, in order (the machine entry excluded)
  std::string src_machine, dest_machine;
  /// A load check (check_load): the verdict is "would load" unless an error finding exists.
  bool load_check = false;
  std::vector<std::string> undecided;  ///< questions the destination's description could not decide

  /// Upstream's stdout: the concatenated upstream texts.
  std::string upstream_output() const;
  /// Upstream's exit status: counted findings, saturated at 255.
  int upstream_exit_status() const;
};

/// Check migration from `src` to `dest` (swap the arguments to check the
/// reverse direction). Stream descriptions of different page sizes get a
/// page_size_mismatch finding first.
CheckReport check_vmstate(const VmstateDump& src, const VmstateDump& dest, const RenameTable& renames);

/// Compare two vmdesc trailers (the JSON texts), e.g. of an old and a new
/// QEMU's streams for the same guest. Errors name the document and JSON path.
Result<CheckReport> compare_vmdesc(std::string_view src_json, std::string_view dest_json,
                                   const RenameTable& renames);

// ---- load check
// Will a real dump load into a destination QEMU? The dump's facts (what its
// stream actually holds) against what is known of the destination: its
// -dump-vmstate (the binary and machine type: section versions, subsections),
// a stream made by the destination's own VM configuration (device set, RAM
// blocks, configuration and footer settings, field layout), and the
// capabilities it will have set. QEMU's loader rules (migration/savevm.c
// qemu_loadvm_state, qemu_loadvm_section_start_full, vmstate_load_state,
// vmstate_subsection_load, migration/ram.c ram_load) in stream order: the
// first error finding is what QEMU would stop at.

/// What a stream holds, as its walk saw it (the dump, or the destination's own stream).
struct LoadFacts {
  bool has_configuration = false;
  std::uint64_t configuration_offset = 0;
  std::string machine;
  std::optional<std::uint32_t> target_page_bits;  ///< the configuration's subsection, if sent
  std::vector<std::string> capabilities;          ///< the configuration's capabilities subsection
  std::optional<std::string> uuid;                ///< the configuration's uuid (8-4-4-4-12 hex, as QEMU prints it)
  bool footers = false;
  struct Section {
    std::uint64_t offset = 0;
    std::uint64_t end = 0;  ///< first byte after its footer
    std::string idstr;
    std::uint32_t instance = 0, version = 0;
    bool has_footer = false;
    bool device = false;  ///< decoded through a description
  };
  std::vector<Section> sections;  ///< START and FULL headers, in stream order
  struct Block {
    std::uint64_t offset = 0;  ///< of its MEM_SIZE entry
    std::string name;
    std::uint64_t length = 0;
  };
  std::vector<Block> blocks;
  struct Command {
    std::uint64_t offset = 0;
    std::uint16_t cmd = 0, length = 0;
  };
  std::vector<Command> commands;
  std::optional<std::uint64_t> first_compressed_page;  ///< offset of the first COMPRESS_PAGE record
  std::optional<std::uint64_t> first_xbzrle_page;
  std::optional<std::string> vmdesc_json;  ///< the description (trailer or given), if any
};

struct LoadTarget {
  const VmstateDump* vmstate = nullptr;  ///< the destination's -dump-vmstate, if given
  const LoadFacts* stream = nullptr;     ///< a stream made by the destination's configuration, if given
  /// Capabilities the destination will have set; unset: what its stream shows (else none).
  std::optional<std::vector<std::string>> capabilities;
};

/// Check that `dump` would load into `dest`. At least one of dest.vmstate
/// and dest.stream must be set. Errors: a description that does not parse.
Result<CheckReport> check_load(const LoadFacts& dump, const LoadTarget& dest);

/// "would load" or "would fail to load: N reasons".
std::string load_verdict(const CheckReport& report);

/// The stable id of a finding from its identifying fields.
std::string finding_id(const Finding& f);

// ---- report
// Reports over a CheckReport: severities against a failure threshold, baselines of known
// findings (by stable id), a one-line summary, and text / JSON / JUnit XML
// renderings. Everything returns strings; printing is the tools' business.

/// Known findings to ignore, by stable id.
struct Baseline {
  std::unordered_set<std::string> ids;
  bool contains(const std::string& id) const { return ids.count(id) != 0; }
};

/// Parse {"schema": "migscope-baseline/1", "findings": [{"id": "...", ...}, ...]};
/// a bare {"ids": ["...", ...]} is accepted too.
Result<Baseline> parse_baseline(std::string_view json);
/// A baseline recording every finding of `report` (ids plus kind and message for review).
std::string write_baseline(const CheckReport& report);

struct ReportOptions {
  std::string src_name;   ///< as given on the command line
  std::string dest_name;
  bool reverse = false;
  Severity fail_on = Severity::warning;  ///< findings at or above it fail (unless baselined)
  /// How the front end names that threshold in the summary line ("--fail-on"), or empty.
  std::string fail_on_name;
  const Baseline* baseline = nullptr;
};

struct Summary {
  std::size_t total = 0;
  std::array<std::size_t, 3> by_severity{};  ///< indexed by Severity
  std::size_t baselined = 0;
  std::size_t failing = 0;  ///< not baselined and at or above fail_on
};

bool is_baselined(const Finding& f, const ReportOptions& opts);
bool is_failing(const Finding& f, const ReportOptions& opts);
Summary summarize(const CheckReport& report, const ReportOptions& opts);
/// "migscope check: 14 findings (9 error, 4 warning, 1 info), 0 baselined, 13 failing at warning: FAIL"
/// ("at --fail-on warning" with fail_on_name "--fail-on").
std::string summary_line(const CheckReport& report, const ReportOptions& opts);

/// One line per finding ("error: <message> [<kind> <id>]"), then the summary line.
std::string render_text(const CheckReport& report, const ReportOptions& opts);
/// {"schema": "migscope-check/1", "src", "dest", "reverse", "fail_on", "findings": [...], "summary": {...}}
std::string render_json(const CheckReport& report, const ReportOptions& opts);
/// JUnit XML: one <testcase> per src section; failing findings as <failure>,
/// baselined ones as <skipped>, the rest in <system-out>.
std::string render_junit(const CheckReport& report, const ReportOptions& opts);

}  // namespace migscope::compat
