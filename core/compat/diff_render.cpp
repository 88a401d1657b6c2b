// diff reports: text (summary first), one JSON document, JSON Lines.
#include <cinttypes>
#include <cstdio>

#include "json/escape.h"
#include "migscope/diff.h"

namespace migscope::diff {

std::string_view diff_kind_name(DiffKind k) noexcept {
  switch (k) {
    case DiffKind::description: return "description";
    case DiffKind::section_only_a: return "section-only-a";
    case DiffKind::section_only_b: return "section-only-b";
    case DiffKind::section_version: return "section-version";
    case DiffKind::subsection_only_a: return "subsection-only-a";
    case DiffKind::subsection_only_b: return "subsection-only-b";
    case DiffKind::field_only_a: return "field-only-a";
    case DiffKind::field_only_b: return "field-only-b";
    case DiffKind::field: return "field";
    case DiffKind::list_length: return "list-length";
  }
  return "unknown";
}

std::uint64_t DiffReport::pages_differ() const {
  std::uint64_t n = 0;
  for (const auto& b : blocks) n += b.pages_differ;
  return n;
}

std::uint64_t DiffReport::blocks_differ() const {
  std::uint64_t n = 0;
  for (const auto& b : blocks)
    if (b.pages_differ || b.a.present != b.b.present || b.a.length != b.b.length) ++n;
  return n;
}

bool DiffReport::identical() const { return !descriptions_differ && differences.empty() && blocks_differ() == 0; }

const std::vector<std::string>& default_ignores() {
  static const std::vector<std::string> globs = {
      // Seen in corpus/diff/running-*: the virtual clocks' offsets, the RTC's
      // and the PIT's next event times.
      "timer (*)/cpu_ticks_offset",
      "timer (*)/cpu_clock_offset",
      "mc146818rtc (*)/update_timer",
      "mc146818rtc (*)/next_periodic_time",
      "mc146818rtc (*)/next_alarm_time",
      "i8254 (*)/channels*next_transition_time",
      "i8254 (*)/channels*count_load_time",
      // Seen between two saves of bench/make-big-stream.sh's guest (default
      // -rtc: the host clock): the RTC's base and last update times.
      "mc146818rtc (*)/base_rtc",
      "mc146818rtc (*)/last_update",
      // The same kind of value in the other timer devices: deadlines and
      // load times in host-clock nanoseconds, and the TSC.
      "cpu (*)/env.tsc",
      "apic (*)/initial_count_load_time",
      "apic (*)/next_time",
      "apic (*)/timer_expiry",
      "hpet (*)/hpet_counter",
      "hpet (*)/timer[[]*]/qemu_timer",
      "*/acpi_regs.tmr.overflow_time",
      "*/ar.tmr.overflow_time",
      "*/tco_regs/expire_time",
      "kvmclock (*)/clock",
  };
  return globs;
}

namespace {

constexpr std::size_t kTextValueMax = 120;

std::string hex64(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%016" PRIx64, v);
  return b;
}

std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

std::string short_value(const std::string& v) {
  if (v.size() <= kTextValueMax) return v;
  return v.substr(0, kTextValueMax) + "... (" + std::to_string(v.size()) + " chars)";
}

bool only_a(DiffKind k) {
  return k == DiffKind::section_only_a || k == DiffKind::subsection_only_a || k == DiffKind::field_only_a;
}
bool only_b(DiffKind k) {
  return k == DiffKind::section_only_b || k == DiffKind::subsection_only_b || k == DiffKind::field_only_b;
}

std::size_t count(const DiffReport& r, bool (*pred)(DiffKind)) {
  std::size_t n = 0;
  for (const auto& d : r.differences)
    if (pred(d.kind)) ++n;
  return n;
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// ---- JSON pieces

void key(std::string& o, std::string_view k) {
  json::append_json_string(o, k);
  o += ':';
}
void str(std::string& o, std::string_view k, std::string_view v) {
  key(o, k);
  json::append_json_string(o, v);
}
void num(std::string& o, std::string_view k, std::uint64_t v) {
  key(o, k);
  o += std::to_string(v);
}
void boolean(std::string& o, std::string_view k, bool v) {
  key(o, k);
  o += v ? "true" : "false";
}

void summary_members(std::string& o, const DiffReport& r) {
  boolean(o, "identical", r.identical());
  o += ',';
  num(o, "differences", r.differences.size());
  o += ',';
  num(o, "ignored", r.ignored);
  o += ',';
  num(o, "sections_a", r.sections_a);
  o += ',';
  num(o, "sections_b", r.sections_b);
  o += ',';
  num(o, "sections_matched", r.sections_matched);
  o += ',';
  boolean(o, "descriptions_differ", r.descriptions_differ);
  o += ',';
  boolean(o, "ram_compared", r.ram_compared);
  if (!r.ram_compared) {
    o += ',';
    str(o, "ram_note", r.ram_note);
  }
  o += ',';
  num(o, "page_size", r.page_size);
  o += ',';
  num(o, "blocks_differ", r.blocks_differ());
  o += ',';
  num(o, "pages_differ", r.pages_differ());
}

void difference_members(std::string& o, const Difference& d) {
  str(o, "kind", diff_kind_name(d.kind));
  o += ',';
  str(o, "path", d.path);
  o += ',';
  key(o, "a");
  if (only_b(d.kind)) o += "null";
  else json::append_json_string(o, d.a);
  o += ',';
  key(o, "b");
  if (only_a(d.kind)) o += "null";
  else json::append_json_string(o, d.b);
}

void side(std::string& o, std::string_view k, const SidePages& s) {
  key(o, k);
  if (!s.present) {
    o += "null";
    return;
  }
  o += '{';
  num(o, "length", s.length);
  o += ',';
  num(o, "pages_sent", s.pages_sent);
  o += ',';
  num(o, "zero_pages", s.zero_pages);
  o += ',';
  num(o, "data_pages", s.data_pages);
  o += '}';
}

void block_members(std::string& o, const BlockDiff& b) {
  str(o, "block", b.name);
  o += ',';
  side(o, "a", b.a);
  o += ',';
  side(o, "b", b.b);
  o += ',';
  num(o, "pages_differ", b.pages_differ);
}

void range_members(std::string& o, const PageRange& r) {
  num(o, "start", r.start);
  o += ',';
  num(o, "end", r.end);
  o += ',';
  num(o, "pages", r.pages);
}

void page_members(std::string& o, const PageDiff& p) {
  num(o, "offset", p.offset);
  o += ',';
  str(o, "a_xxh3", hex64(p.a));
  o += ',';
  str(o, "b_xxh3", hex64(p.b));
}

bool block_differs(const BlockDiff& b) { return b.pages_differ || b.a.present != b.b.present || b.a.length != b.b.length; }

constexpr std::size_t kFlushAt = 1 << 16;

void render_json(const DiffReport& r, const std::function<void(std::string_view)>& emit) {
  std::string o = "{";
  str(o, "schema", "migscope-diff/1");
  o += ",\"a\":{";
  str(o, "name", r.a_name);
  o += ',';
  str(o, "kind", r.a_is_state ? "state" : "dump");
  o += "},\"b\":{";
  str(o, "name", r.b_name);
  o += ',';
  str(o, "kind", r.b_is_state ? "state" : "dump");
  o += "},\"summary\":{";
  summary_members(o, r);
  o += "},\"descriptions\":{";
  boolean(o, "compared", r.descriptions_compared);
  o += ',';
  boolean(o, "differ", r.descriptions_differ);
  o += ",\"notes\":[";
  for (std::size_t i = 0; i < r.description_notes.size(); ++i) {
    if (i) o += ',';
    json::append_json_string(o, r.description_notes[i]);
  }
  o += "]},\n\"differences\":[";
  for (std::size_t i = 0; i < r.differences.size(); ++i) {
    o += i ? ",\n{" : "\n{";
    difference_members(o, r.differences[i]);
    o += '}';
    if (o.size() > kFlushAt) emit(o), o.clear();
  }
  o += "],\n\"ram\":{";
  num(o, "page_size", r.page_size);
  o += ",\"blocks\":[";
  bool first = true;
  for (const BlockDiff& b : r.blocks) {
    if (!block_differs(b)) continue;
    o += first ? "\n{" : ",\n{";
    first = false;
    block_members(o, b);
    o += ",\"ranges\":[";
    for (std::size_t i = 0; i < b.ranges.size(); ++i) {
      o += i ? ",{" : "{";
      range_members(o, b.ranges[i]);
      o += '}';
      if (o.size() > kFlushAt) emit(o), o.clear();
    }
    o += "],\"pages\":[";
    for (std::size_t i = 0; i < b.pages.size(); ++i) {
      o += i ? ",\n{" : "\n{";
      page_members(o, b.pages[i]);
      o += '}';
      if (o.size() > kFlushAt) emit(o), o.clear();
    }
    o += "]}";
  }
  o += "]}}\n";
  emit(o);
}

void render_jsonl(const DiffReport& r, const std::function<void(std::string_view)>& emit) {
  std::string o = "{";
  str(o, "kind", "summary");
  o += ',';
  str(o, "schema", "migscope-diff/1");
  o += ',';
  str(o, "a", r.a_name);
  o += ',';
  str(o, "b", r.b_name);
  o += ',';
  summary_members(o, r);
  o += "}\n";
  for (const auto& n : r.description_notes) {
    o += '{';
    str(o, "kind", "description");
    o += ',';
    str(o, "note", n);
    o += "}\n";
  }
  for (const auto& d : r.differences) {
    o += '{';
    difference_members(o, d);
    o += "}\n";
    if (o.size() > kFlushAt) emit(o), o.clear();
  }
  for (const BlockDiff& b : r.blocks) {
    if (!block_differs(b)) continue;
    o += '{';
    str(o, "kind", "ram-block");
    o += ',';
    block_members(o, b);
    o += "}\n";
    for (const auto& range : b.ranges) {
      o += '{';
      str(o, "kind", "ram-range");
      o += ',';
      str(o, "block", b.name);
      o += ',';
      range_members(o, range);
      o += "}\n";
      if (o.size() > kFlushAt) emit(o), o.clear();
    }
    for (const auto& p : b.pages) {
      o += '{';
      str(o, "kind", "ram-page");
      o += ',';
      str(o, "block", b.name);
      o += ',';
      page_members(o, p);
      o += "}\n";
      if (o.size() > kFlushAt) emit(o), o.clear();
    }
  }
  emit(o);
}

std::string side_text(const SidePages& s) {
  if (!s.present) return "absent";
  return std::to_string(s.length) + " bytes, " + std::to_string(s.data_pages) + " data + " + std::to_string(s.zero_pages) +
         " zero pages sent";
}

void render_text(const DiffReport& r, const std::function<void(std::string_view)>& emit) {
  std::string o = diff_summary_line(r) + "\n";
  if (r.descriptions_differ) {
    o += "descriptions differ: values may not be comparable\n";
    for (const auto& n : r.description_notes) o += "  " + printable(n) + "\n";
  }
  // Names and values come from the inputs: control bytes (an ESC of a
  // hostile field name) are shown as \xNN, one line per item stays one line.
  for (const auto& d : r.differences) {
    const std::string path = printable(d.path), a = printable(d.a), b = printable(d.b);
    switch (d.kind) {
      case DiffKind::section_only_a: o += "section only in A: " + path + "\n"; break;
      case DiffKind::section_only_b: o += "section only in B: " + path + "\n"; break;
      case DiffKind::section_version: o += "version: " + path + ": " + a + " -> " + b + "\n"; break;
      case DiffKind::subsection_only_a: o += "subsection only in A: " + path + "\n"; break;
      case DiffKind::subsection_only_b: o += "subsection only in B: " + path + "\n"; break;
      case DiffKind::field_only_a: o += "field only in A: " + path + " = " + short_value(a) + "\n"; break;
      case DiffKind::field_only_b: o += "field only in B: " + path + " = " + short_value(b) + "\n"; break;
      case DiffKind::list_length: o += "length: " + path + ": " + a + " -> " + b + "\n"; break;
      case DiffKind::field:
      case DiffKind::description: o += path + ": " + short_value(a) + " -> " + short_value(b) + "\n"; break;
    }
    if (o.size() > kFlushAt) emit(o), o.clear();
  }
  for (const BlockDiff& b : r.blocks) {
    if (!block_differs(b)) continue;
    const std::string name = printable(b.name);
    if (!b.a.present || !b.b.present) {
      o += "ram: " + name + ": only in " + (b.a.present ? "A" : "B") + " (" + side_text(b.a.present ? b.a : b.b) + ")\n";
      continue;
    }
    o += "ram: " + name + ": A " + side_text(b.a) + "; B " + side_text(b.b) + "\n";
    for (const auto& range : b.ranges) {
      o += "ram: " + name + " " + hex(range.start) + "-" + hex(range.end - 1) + ": " +
           plural(range.pages, "page differs", "pages differ") + "\n";
      if (o.size() > kFlushAt) emit(o), o.clear();
    }
    for (const auto& p : b.pages) {
      o += "page: " + name + " " + hex(p.offset) + ": " + hex64(p.a) + " -> " + hex64(p.b) + "\n";
      if (o.size() > kFlushAt) emit(o), o.clear();
    }
  }
  emit(o);
}

}  // namespace

std::string diff_summary_line(const DiffReport& r) {
  std::string line = "migscope diff: " + printable(r.a_name) + " and " + printable(r.b_name);
  std::string ram;
  if (r.ram_compared)
    ram = "RAM: " + plural(r.pages_differ(), "page", "pages") + " differ in " + plural(r.blocks_differ(), "block", "blocks");
  else
    ram = "RAM not compared (" + r.ram_note + ")";
  const std::size_t fields = count(r, [](DiffKind k) {
    return k == DiffKind::field || k == DiffKind::list_length || k == DiffKind::field_only_a || k == DiffKind::field_only_b;
  });
  const std::size_t sections_only = count(r, [](DiffKind k) { return k == DiffKind::section_only_a || k == DiffKind::section_only_b; });
  const std::size_t other = r.differences.size() - fields - sections_only;
  if (r.identical()) {
    line += " are identical: " + plural(r.sections_matched, "section", "sections");
    if (r.ram_compared) line += ", RAM equal";
    else line += ", " + ram;
  } else {
    line += " differ: ";
    if (r.descriptions_differ) line += "descriptions differ, ";
    line += plural(fields, "field", "fields") + ", " + plural(sections_only, "section", "sections") + " only on one side, " +
            plural(other, "other difference", "other differences") + " in " +
            plural(r.sections_matched, "common section", "common sections") + "; " + ram;
  }
  if (r.ignored) line += " (" + plural(r.ignored, "difference", "differences") + " ignored)";
  return line;
}

void render_diff(const DiffReport& report, DiffFormat format, const std::function<void(std::string_view)>& emit) {
  switch (format) {
    case DiffFormat::text: return render_text(report, emit);
    case DiffFormat::json: return render_json(report, emit);
    case DiffFormat::jsonl: return render_jsonl(report, emit);
  }
}

}  // namespace migscope::diff
