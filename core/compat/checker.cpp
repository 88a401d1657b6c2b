#include "migscope/compat.h"

#include <cstdio>

namespace migscope::compat {

std::string_view severity_name(Severity s) noexcept {
  switch (s) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::error: return "error";
  }
  return "error";
}

bool parse_severity(std::string_view name, Severity& out) noexcept {
  if (name == "info") out = Severity::info;
  else if (name == "warning") out = Severity::warning;
  else if (name == "error") out = Severity::error;
  else return false;
  return true;
}

std::string_view finding_kind_name(FindingKind k) noexcept {
  switch (k) {
    case FindingKind::machine_mismatch: return "machine_mismatch";
    case FindingKind::section_missing: return "section_missing";
    case FindingKind::entry_missing: return "entry_missing";
    case FindingKind::version_too_new: return "version_too_new";
    case FindingKind::minimum_version: return "minimum_version";
    case FindingKind::description_renamed: return "description_renamed";
    case FindingKind::field_mismatch: return "field_mismatch";
    case FindingKind::fields_exhausted: return "fields_exhausted";
    case FindingKind::unused_size_mismatch: return "unused_size_mismatch";
    case FindingKind::subsection_missing: return "subsection_missing";
    case FindingKind::description_missing: return "description_missing";
    case FindingKind::size_mismatch: return "size_mismatch";
    case FindingKind::fields_added: return "fields_added";
    case FindingKind::subsection_added: return "subsection_added";
    case FindingKind::type_mismatch: return "type_mismatch";
    case FindingKind::page_size_mismatch: return "page_size_mismatch";
    case FindingKind::load_configuration: return "load_configuration";
    case FindingKind::load_machine: return "load_machine";
    case FindingKind::load_capability: return "load_capability";
    case FindingKind::load_uuid: return "load_uuid";
    case FindingKind::load_page_bits: return "load_page_bits";
    case FindingKind::load_command: return "load_command";
    case FindingKind::load_section: return "load_section";
    case FindingKind::load_version: return "load_version";
    case FindingKind::load_subsection: return "load_subsection";
    case FindingKind::load_fields: return "load_fields";
    case FindingKind::load_footer: return "load_footer";
    case FindingKind::load_ramblock: return "load_ramblock";
    case FindingKind::load_ram_size: return "load_ram_size";
    case FindingKind::load_page_kind: return "load_page_kind";
  }
  return "unknown";
}

bool is_upstream_kind(FindingKind k) noexcept {
  switch (k) {
    case FindingKind::fields_added:
    case FindingKind::subsection_added:
    case FindingKind::type_mismatch:
    case FindingKind::page_size_mismatch: return false;
    default: return k < FindingKind::load_configuration;
  }
}

std::string finding_id(const Finding& f) {
  // FNV-1a 64 over the identifying fields, 0x1f-separated: stable across runs,
  // platforms and report formats; independent of message wording and order.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view s) {
    for (char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ULL;
    }
    h ^= 0x1f;
    h *= 0x100000001b3ULL;
  };
  mix(finding_kind_name(f.kind));
  mix(f.section);
  mix(f.path);
  mix(f.field);
  mix(f.src);
  mix(f.dest);
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string CheckReport::upstream_output() const {
  std::string out;
  for (const auto& f : findings) out += f.upstream_text;
  return out;
}

int CheckReport::upstream_exit_status() const {
  int n = 0;
  for (const auto& f : findings)
    if (f.upstream_counted && n < 255) ++n;
  return n;
}

namespace {

// Sizes multiply (size × num) and accumulate (unused byte counts): exact
// 128-bit arithmetic, like Python's integers for any int64 inputs.
__extension__ typedef __int128 wide_int;

std::string q(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

std::string num(std::int64_t v) { return std::to_string(v); }

wide_int size_total(const VmsdField& f) {
  if (!f.num) return f.size;
  return static_cast<wide_int>(f.size) * static_cast<wide_int>(*f.num);
}

struct FieldIter {
  const std::vector<VmsdField>* list = nullptr;
  std::size_t pos = 0;
  const VmsdField* next() { return pos < list->size() ? &(*list)[pos++] : nullptr; }
};

class Checker {
 public:
  Checker(const RenameTable& renames, CheckReport& report, bool vmdesc)
      : renames_(renames), report_(report), vmdesc_(vmdesc) {}

  void run(const VmstateDump& src, const VmstateDump& dest) {
    if (src.machine) report_.src_machine = *src.machine;
    if (dest.machine) report_.dest_machine = *dest.machine;
    for (std::size_t i = 0; i <= src.sections.size(); ++i) {
      if (src.has_machine_entry && i == src.machine_position) check_machine(src, dest);
      if (i < src.sections.size()) check_section(src.sections[i], dest);
    }
  }

 private:
  struct Emit {
    FindingKind kind;
    Severity severity;
    std::string_view desc;
    std::string_view field;
    std::string src, dest;
    std::string message;
    std::string upstream;  // what upstream prints, newline included where it prints one
    bool counted;
  };

  void emit(const std::string& sec, Emit e) {
    Finding f;
    f.kind = e.kind;
    f.severity = e.severity;
    f.section = sec;
    f.description = std::string(e.desc);
    for (std::size_t i = 0; i < path_.size(); ++i) {
      if (i) f.path += '/';
      f.path += path_[i];
    }
    f.field = std::string(e.field);
    f.src = std::move(e.src);
    f.dest = std::move(e.dest);
    f.message = std::move(e.message);
    f.upstream_text = std::move(e.upstream);
    f.upstream_counted = e.counted;
    f.id = finding_id(f);
    report_.findings.push_back(std::move(f));
  }

  void check_machine(const VmstateDump& src, const VmstateDump& dest) {
    static const std::string kKey = "vmschkmachine";
    if (!dest.has_machine_entry) {
      // Upstream looks the renamed key up; "vmschkmachine" has no rename.
      std::string text = "Section " + q(kKey) + " does not exist in dest";
      emit(kKey, {FindingKind::section_missing, Severity::warning, {}, {}, kKey, {}, text, text + "\n", true});
      return;
    }
    const std::string& s = *src.machine;
    const std::string& d = *dest.machine;
    if (s == d) return;
    // Upstream's line carries its own "Warning:"; the finding has a severity instead.
    std::string text = "checking incompatible machine types: " + q(s) + ", " + q(d);
    emit(kKey, {FindingKind::machine_mismatch, Severity::info, {}, {}, s, d, text, "Warning: " + text + "\n", false});
  }

  void check_section(const VmsdSection& s, const VmstateDump& dest) {
    const std::string& sec = s.key;
    report_.sections.push_back(sec);
    const VmsdSection* d = dest.find(sec);
    if (d == nullptr) d = dest.find(renames_.changed_section_name(sec));
    if (d == nullptr) {
      std::string text = "Section " + q(sec) + " does not exist in dest";
      emit(sec, {FindingKind::section_missing, Severity::warning, {}, {}, sec, {}, text, text + "\n", true});
      return;
    }
    check_version(sec, {}, {}, s.version_id, d->version_id, d->minimum_version_id);
    for (const auto& entry : s.keys) {
      if (!d->has_key(entry)) {
        std::string text = "Section " + q(sec) + ": Entry " + q(entry) + " missing";
        emit(sec, {FindingKind::entry_missing, entry_severity(entry), {}, entry, entry, {}, text, text + "\n", true});
        continue;
      }
      if (entry == "Description" && s.description && d->description)
        check_descriptions(*s.description, *d->description, sec);
    }
  }

  static Severity entry_severity(std::string_view entry) {
    return (entry == "Description" || entry == "Fields" || entry == "Subsections") ? Severity::error
                                                                                   : Severity::warning;
  }

  // check_version(s, d, sec, desc): `desc` empty means Python's None (or "",
  // which is just as false); `field` only feeds the structured record.
  void check_version(const std::string& sec, std::string_view desc, std::string_view field, std::int64_t s_ver,
                     std::int64_t d_ver, const std::optional<std::int64_t>& d_min) {
    if (s_ver > d_ver) {
      std::string text = "Section " + q(sec) + " ";
      if (!desc.empty()) text += "Description " + q(desc) + ": ";
      text += "version error: " + num(s_ver) + " > " + num(d_ver);
      emit(sec, {FindingKind::version_too_new, Severity::error, desc, field, num(s_ver), num(d_ver), text,
                 text + "\n", true});
    }
    if (!d_min) return;
    if (s_ver < *d_min) {
      if (!desc.empty()) {
        std::string text = "Section " + q(sec) + " Description " + q(desc) + ": minimum version error: " +
                           num(s_ver) + " < " + num(*d_min);
        emit(sec, {FindingKind::minimum_version, Severity::error, desc, field, num(s_ver), num(*d_min), text,
                   text + "\n", true});
      } else {
        // Upstream prints only the first piece (end=' ', no newline) and never counts it.
        std::string text = "Section " + q(sec) + " minimum version error: " + num(s_ver) + " < " + num(*d_min);
        emit(sec, {FindingKind::minimum_version, Severity::error, desc, field, num(s_ver), num(*d_min), text,
                   "Section " + q(sec) + " ", false});
      }
    }
  }

  void check_size(const std::string& sec, std::string_view desc, const VmsdField& s, const VmsdField& d) {
    if (s.size == d.size) return;
    std::string text = "Section " + q(sec) + " ";
    if (!desc.empty()) text += "Description " + q(desc) + " ";
    if (!s.field.empty()) text += "Field " + q(s.field) + " ";
    text += "size mismatch: " + num(s.size) + " , " + num(d.size);
    emit(sec, {FindingKind::size_mismatch, Severity::warning, desc, s.field, num(s.size), num(d.size), text,
               text + "\n", true});
  }

  bool exists_in_substruct(const VmsdField& f, std::string_view item) const {
    if (!f.description) return false;
    if (!f.description->fields) return false;
    const auto& sub = *f.description->fields;
    if (sub.empty()) return false;
    return renames_.names_match(f.description->name, sub[0].field, item);
  }

  void check_fields(const std::vector<VmsdField>& src_fields, const std::vector<VmsdField>& dest_fields,
                    const std::string& desc, const std::string& sec, std::int64_t src_version) {
    FieldIter d_iter{&dest_fields, 0};
    FieldIter s_iter{&src_fields, 0};
    std::vector<FieldIter> s_iter_list;
    std::vector<FieldIter> d_iter_list;
    bool advance_src = true;
    bool advance_dest = true;
    wide_int unused_count = 0;
    const VmsdField* s_item = nullptr;
    const VmsdField* d_item = nullptr;

    while (true) {
      if (advance_src) {
        const VmsdField* n = s_iter.next();
        if (n == nullptr) {
          if (s_iter_list.empty()) {
            if (advance_dest && unused_count == 0) report_trailing(d_iter, d_iter_list, desc, sec, src_version);
            break;
          }
          s_iter = s_iter_list.back();
          s_iter_list.pop_back();
          continue;
        }
        s_item = n;
      } else if (unused_count == 0) {
        // Avoid advancing just once: when entering a dest substruct, or leaving one.
        advance_src = true;
      }

      if (advance_dest) {
        const VmsdField* n = d_iter.next();
        if (n == nullptr) {
          if (d_iter_list.empty()) {
            std::string text = "Section " + q(sec) + ", Description " + q(desc) + ": expected field " +
                               q(s_item->field) + ", while dest has no further fields";
            emit(sec, {FindingKind::fields_exhausted, Severity::error, desc, s_item->field, s_item->field, {},
                       text, text + "\n", true});
            break;
          }
          d_iter = d_iter_list.back();
          d_iter_list.pop_back();
          advance_src = false;
          continue;
        }
        d_item = n;
      } else if (unused_count == 0) {
        advance_dest = true;
      }

      if (unused_count != 0) {
        if (!advance_dest) {
          unused_count -= s_item->size;
          if (unused_count == 0) {
            advance_dest = true;
            continue;
          }
          if (unused_count < 0) {
            unused_mismatch(sec, desc, *s_item);
            break;
          }
          continue;
        }
        if (!advance_src) {
          unused_count -= d_item->size;
          if (unused_count == 0) {
            advance_src = true;
            continue;
          }
          if (unused_count < 0) {
            unused_mismatch(sec, desc, *d_item);
            break;
          }
          continue;
        }
      }

      if (!renames_.names_match(desc, s_item->field, d_item->field)) {
        // Fields moved into a substruct keep the wire format: descend into it.
        if (exists_in_substruct(*d_item, s_item->field)) {
          d_iter_list.push_back(d_iter);
          d_iter = FieldIter{&*d_item->description->fields, 0};
          advance_src = false;
          continue;
        }
        // The reverse: src has a substruct dest removed (backward migration).
        if (exists_in_substruct(*s_item, d_item->field)) {
          s_iter_list.push_back(s_iter);
          s_iter = FieldIter{&*s_item->description->fields, 0};
          advance_dest = false;
          continue;
        }
        if (s_item->field == "unused" || d_item->field == "unused") {
          wide_int s_size = size_total(*s_item);
          wide_int d_size = size_total(*d_item);
          if (s_size == d_size) continue;
          if (d_item->field == "unused") {
            advance_dest = false;
            unused_count = d_size - s_size;
            continue;
          }
          if (s_item->field == "unused") {
            advance_src = false;
            unused_count = s_size - d_size;
            continue;
          }
        }
        std::string text = "Section " + q(sec) + ", Description " + q(desc) + ": expected field " +
                           q(s_item->field) + ", got " + q(d_item->field) + "; skipping rest";
        emit(sec, {FindingKind::field_mismatch, Severity::error, desc, s_item->field, s_item->field, d_item->field,
                   text, text + "\n", true});
        break;
      }

      check_version(sec, desc, s_item->field, s_item->version_id, d_item->version_id, d_item->minimum_version_id);
      if (!s_item->description) check_size(sec, desc, *s_item, *d_item);
      if (!s_item->type.empty() && !d_item->type.empty() && s_item->type != d_item->type) {
        std::string text = "Section " + q(sec) + " Description " + q(desc) + " Field " + q(s_item->field) +
                           " type mismatch: " + q(s_item->type) + " , " + q(d_item->type);
        emit(sec, {FindingKind::type_mismatch, Severity::warning, desc, s_item->field, s_item->type, d_item->type,
                   text, {}, false});
      }
      check_description_in_list(*s_item, *d_item, sec, desc);
    }
  }

  void unused_mismatch(const std::string& sec, const std::string& desc, const VmsdField& near) {
    std::string text = "Section " + q(sec) + ", Description " + q(desc) + ": unused size mismatch near \" " +
                       near.field + "\"";
    emit(sec, {FindingKind::unused_size_mismatch, Severity::error, desc, near.field, {}, {}, text, text + "\n",
               true});
  }

  // Beyond upstream: src ran out of fields but dest expects more. A field whose
  // version_id exceeds the version src sends is skipped by the loader.
  void report_trailing(FieldIter d_iter, const std::vector<FieldIter>& d_iter_list, const std::string& desc,
                       const std::string& sec, std::int64_t src_version) {
    std::size_t count = 0;
    const VmsdField* first = nullptr;
    bool gated = false;
    auto scan = [&](FieldIter it) {
      while (const VmsdField* f = it.next()) {
        if (f->version_id > src_version) continue;
        if (first == nullptr) first = f;
        gated = gated || f->field_exists.value_or(false);
        ++count;
      }
    };
    scan(d_iter);
    for (auto it = d_iter_list.rbegin(); it != d_iter_list.rend(); ++it) scan(*it);
    if (first == nullptr) return;
    std::string text = "Section " + q(sec) + ", Description " + q(desc) + ": dest expects " + std::to_string(count) +
                       " more field" + (count == 1 ? "" : "s") + " starting with " + q(first->field);
    Severity sev = (vmdesc_ || gated) ? Severity::warning : Severity::error;
    emit(sec, {FindingKind::fields_added, sev, desc, first->field, {}, std::to_string(count), text, {}, false});
  }

  void check_subsections(const std::vector<VmsdDescription>& src_sub, const std::vector<VmsdDescription>& dest_sub,
                         const std::string& desc, const std::string& sec) {
    for (const auto& s_item : src_sub) {
      bool found = false;
      for (const auto& d_item : dest_sub) {
        if (s_item.name != d_item.name) continue;
        found = true;
        check_descriptions(s_item, d_item, sec);
      }
      if (!found) {
        std::string text = "Section " + q(sec) + ", Description " + q(desc) + ": Subsection " + q(s_item.name) +
                           " not found";
        emit(sec, {FindingKind::subsection_missing, Severity::warning, desc, s_item.name, s_item.name, {}, text,
                   text + "\n", true});
      }
    }
    report_added_subsections(&src_sub, dest_sub, desc, sec);
  }

  void report_added_subsections(const std::vector<VmsdDescription>* src_sub,
                                const std::vector<VmsdDescription>& dest_sub, const std::string& desc,
                                const std::string& sec) {
    for (const auto& d_item : dest_sub) {
      bool found = false;
      if (src_sub != nullptr)
        for (const auto& s_item : *src_sub) found = found || s_item.name == d_item.name;
      if (found) continue;
      std::string text = "Section " + q(sec) + ", Description " + q(desc) + ": Subsection " + q(d_item.name) +
                         " only in dest";
      emit(sec, {FindingKind::subsection_added, Severity::info, desc, d_item.name, {}, d_item.name, text, {}, false});
    }
  }

  void check_description_in_list(const VmsdField& s_item, const VmsdField& d_item, const std::string& sec,
                                 const std::string& desc) {
    if (!s_item.description) return;
    if (!d_item.description) {
      std::string text = "Section " + q(sec) + ", Description " + q(desc) + ", Field " + q(s_item.field) +
                         ": missing description";
      emit(sec, {FindingKind::description_missing, Severity::error, desc, s_item.field, s_item.description->name, {},
                 text, text + "\n", true});
      return;
    }
    check_descriptions(*s_item.description, *d_item.description, sec);
  }

  void check_descriptions(const VmsdDescription& src, const VmsdDescription& dest, const std::string& sec) {
    path_.push_back(src.name);
    check_version(sec, src.name, {}, src.version_id, dest.version_id, dest.minimum_version_id);
    if (!renames_.names_match(sec, src.name, dest.name)) {
      std::string text = "Section " + q(sec) + ": Description " + q(src.name) + " missing, got " + q(dest.name) +
                         " instead; skipping";
      emit(sec, {FindingKind::description_renamed, Severity::error, src.name, {}, src.name, dest.name, text,
                 text + "\n", true});
      path_.pop_back();
      return;
    }
    for (const auto& f : src.keys) {
      if (!dest.has_key(f)) {
        std::string text = "Section " + q(sec) + " Description " + q(src.name) + ": Entry " + q(f) + " missing";
        emit(sec, {FindingKind::entry_missing, entry_severity(f), src.name, f, f, {}, text, text + "\n", true});
        continue;
      }
      if (f == "Fields" && src.fields && dest.fields)
        check_fields(*src.fields, *dest.fields, src.name, sec, src.version_id);
      if (f == "Subsections" && src.subsections && dest.subsections)
        check_subsections(*src.subsections, *dest.subsections, src.name, sec);
    }
    if (!src.has_key("Subsections") && dest.subsections)
      report_added_subsections(nullptr, *dest.subsections, src.name, sec);
    path_.pop_back();
  }

  const RenameTable& renames_;
  CheckReport& report_;
  bool vmdesc_;
  std::vector<std::string_view> path_;
};

}  // namespace

CheckReport check_vmstate(const VmstateDump& src, const VmstateDump& dest, const RenameTable& renames) {
  CheckReport report;
  // Descriptions of streams carry the target page size: pages of another size cannot load.
  if (src.page_size && dest.page_size && *src.page_size != *dest.page_size) {
    Finding f;
    f.kind = FindingKind::page_size_mismatch;
    f.severity = Severity::error;
    f.section = "page_size";
    f.src = std::to_string(*src.page_size);
    f.dest = std::to_string(*dest.page_size);
    f.message = "page size mismatch: " + f.src + " , " + f.dest;
    f.id = finding_id(f);
    report.findings.push_back(std::move(f));
  }
  bool vmdesc = src.origin == VmstateDump::Origin::vmdesc || dest.origin == VmstateDump::Origin::vmdesc;
  Checker(renames, report, vmdesc).run(src, dest);
  return report;
}

Result<CheckReport> compare_vmdesc(std::string_view src_json, std::string_view dest_json, const RenameTable& renames) {
  auto src = parse_vmdesc(src_json);
  if (!src.ok()) {
    Error e = std::move(src).error();
    e.detail = "src: " + e.detail;
    return e;
  }
  auto dest = parse_vmdesc(dest_json);
  if (!dest.ok()) {
    Error e = std::move(dest).error();
    e.detail = "dest: " + e.detail;
    return e;
  }
  return check_vmstate(*src, *dest, renames);
}

}  // namespace migscope::compat
