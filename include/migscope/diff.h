// Comparing two saved VMs: device state section by section and field by
// field (as `state` renders the values), and RAM page by page (XXH3 of each
// page's final content). The report is plain values; renderings (text, one
// JSON document, JSON Lines) are strings emitted piece by piece.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "migscope/error.h"

namespace migscope::diff {

enum class DiffKind : std::uint8_t {
  description,        ///< the two descriptions (vmdesc trailers) differ: values may not be comparable
  section_only_a,     ///< a device section (idstr, instance) only in A
  section_only_b,
  section_version,    ///< both have it, in different versions
  subsection_only_a,  ///< a subsection (member object named "<vmsd>/<name>") only in A
  subsection_only_b,
  field_only_a,
  field_only_b,
  field,              ///< both have the field, with different values
  list_length,        ///< an array of different lengths (common elements compared too)
};

std::string_view diff_kind_name(DiffKind k) noexcept;

struct Difference {
  DiffKind kind = DiffKind::field;
  std::string path;  ///< "cpu (5)/env.regs[3]": the section as `state` names it (A's key), then members and indices
  std::string a, b;  ///< the values (as `state` renders them; objects and lists compactly), or versions
};

/// A contiguous run of pages whose final content differs.
struct PageRange {
  std::uint64_t start = 0;  ///< byte offset of the first page
  std::uint64_t end = 0;    ///< byte offset after the last page
  std::uint64_t pages = 0;
};

/// One differing page (listed only on request).
struct PageDiff {
  std::uint64_t offset = 0;
  std::uint64_t a = 0, b = 0;  ///< XXH3-64 of the final content (0: all zeros or not sent)
};

struct SidePages {
  bool present = false;
  std::uint64_t length = 0;
  std::uint64_t pages_sent = 0, zero_pages = 0, data_pages = 0;  ///< as `hash` counts them
};

struct BlockDiff {
  std::string name;
  SidePages a, b;
  std::uint64_t pages_differ = 0;
  std::vector<PageRange> ranges;
  std::vector<PageDiff> pages;  ///< every differing page, when asked for
};

struct DiffReport {
  std::string a_name, b_name;  ///< the inputs as given
  bool a_is_state = false, b_is_state = false;  ///< a state JSON document rather than a dump
  /// The descriptions: equal, or what differs between them (one line each).
  bool descriptions_compared = false;
  bool descriptions_differ = false;
  std::vector<std::string> description_notes;
  std::uint64_t sections_a = 0, sections_b = 0, sections_matched = 0;
  std::vector<Difference> differences;  ///< device state, in A's section order
  std::uint64_t ignored = 0;            ///< differences dropped by the ignore globs
  bool ram_compared = false;
  std::string ram_note;                 ///< why RAM was not compared, if it was not
  std::uint64_t page_size = 0;
  std::vector<BlockDiff> blocks;        ///< A's block order, then blocks only in B

  std::uint64_t pages_differ() const;
  std::uint64_t blocks_differ() const;
  /// No difference left after the ignores (exit status 0).
  bool identical() const;
};

/// Path globs (fnmatch, '*' crossing '/') of fields that differ between any
/// two saves of one running guest: clocks, timers and counters. A glob that
/// matches a path or any of its ancestors (at a '/' or '[') drops it.
const std::vector<std::string>& default_ignores();

enum class DiffFormat : std::uint8_t { text, json, jsonl };

/// Write the report, piece by piece, to `emit`. Text: a summary line first,
/// then (if any) the description notes, the device differences and the RAM
/// ranges; an identical pair gives the summary line only.
void render_diff(const DiffReport& report, DiffFormat format, const std::function<void(std::string_view)>& emit);

/// One line: "migscope diff: A and B differ: ..." / "... are identical ...".
std::string diff_summary_line(const DiffReport& report);

}  // namespace migscope::diff
