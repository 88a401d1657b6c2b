// check_load: QEMU's loader rules applied to what a dump actually contains.
// Every rule names the QEMU source it follows; messages quote the line a
// QEMU 7.2 destination prints (migration/savevm.c, migration/vmstate.c,
// migration/ram.c), so a user can match them with a failed restore's log.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>

#include "migscope/compat.h"

namespace migscope::compat {

namespace {

constexpr std::uint64_t kNoOffset = ~std::uint64_t{0};

// What is known of the destination QEMU's version (evidence, not a guess).
enum class Era : std::uint8_t {
  unknown,
  before_8_1,  ///< its -dump-vmstate has no "num" for arrays (added in the 8.1 cycle)
  before_8_2,  ///< its stream sends a configuration the vmdesc does not describe (described since 8.2)
  since_8_2,   ///< its vmdesc describes the configuration
  since_10_0,  ///< its stream sends SWITCHOVER_START
};

bool any_num(const VmsdDescription& d) {
  if (d.fields)
    for (const auto& f : *d.fields)
      if (f.num || (f.description && any_num(*f.description))) return true;
  if (d.subsections)
    for (const auto& s : *d.subsections)
      if (any_num(s)) return true;
  return false;
}

// "pc-q35-2.3" -> 2.3 as major*100+minor; nothing for unversioned names.
std::optional<int> machine_version(std::string_view m) {
  const std::size_t dash = m.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  int major = 0, minor = 0;
  if (std::sscanf(std::string(m.substr(dash + 1)).c_str(), "%d.%d", &major, &minor) != 2) return std::nullopt;
  return major * 100 + minor;
}

std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

bool has(const std::vector<std::string>& v, std::string_view x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// ACPI blobs live in resizeable RAM blocks (max_length above used_length):
// the loader resizes them instead of failing (qemu_ram_resize).
bool resizeable_block(std::string_view name) {
  return name.rfind("/rom@etc/acpi/", 0) == 0 || name == "/rom@etc/table-loader";
}

std::string section_key(const std::string& idstr, std::uint32_t instance) {
  return instance ? idstr + "#" + std::to_string(instance) : idstr;
}

struct Pending {
  Finding f;
  std::uint64_t order = 0;
};

class LoadChecker {
 public:
  LoadChecker(const LoadFacts& dump, const LoadTarget& dest) : dump_(dump), dest_(dest), ds_(dest.stream), dv_(dest.vmstate) {}

  Result<CheckReport> run() {
    if (dump_.vmdesc_json) {
      auto d = parse_vmdesc(*dump_.vmdesc_json);
      if (!d.ok()) return std::move(d).error();
      src_desc_.emplace(std::move(d).value());
    }
    if (ds_ && ds_->vmdesc_json) {
      auto d = parse_vmdesc(*ds_->vmdesc_json);
      if (!d.ok()) return std::move(d).error();
      dest_desc_.emplace(std::move(d).value());
    }
    if (dv_)
      for (const auto& s : dv_->sections)
        if (s.description) by_vmsd_.emplace(s.description->name, &s);
    learn_era();
    report_.load_check = true;
    report_.src_machine = dump_.machine;
    report_.dest_machine = dest_machine();

    if (check_configuration()) {  // QEMU stops at a configuration it cannot read
      check_commands();
      check_sections();
      check_ram();
    }
    std::stable_sort(found_.begin(), found_.end(), [](const Pending& a, const Pending& b) {
      return a.f.offset != b.f.offset ? a.f.offset < b.f.offset : a.order < b.order;
    });
    for (auto& p : found_) {
      p.f.id = finding_id(p.f);
      report_.findings.push_back(std::move(p.f));
    }
    for (const auto& s : dump_.sections) report_.sections.push_back(section_key(s.idstr, s.instance));
    return std::move(report_);
  }

 private:
  void add(FindingKind kind, Severity sev, std::uint64_t offset, std::string section, std::string message,
           std::string qemu_error, std::string src = {}, std::string dest = {}, std::string field = {}) {
    Pending p;
    p.order = found_.size();
    p.f.kind = kind;
    p.f.severity = sev;
    p.f.offset = offset;
    p.f.section = std::move(section);
    p.f.field = std::move(field);
    p.f.src = std::move(src);
    p.f.dest = std::move(dest);
    p.f.qemu_error = std::move(qemu_error);
    p.f.message = p.f.qemu_error.empty() ? std::move(message)
                                         : std::move(message) + " (QEMU: \"" + p.f.qemu_error + "\")";
    found_.push_back(std::move(p));
  }
  void error(FindingKind kind, std::uint64_t offset, std::string section, std::string message, std::string qemu_error,
             std::string src = {}, std::string dest = {}, std::string field = {}) {
    add(kind, Severity::error, offset, std::move(section), std::move(message), std::move(qemu_error), std::move(src),
        std::move(dest), std::move(field));
  }
  void undecided(std::string text) {
    if (!has(report_.undecided, text)) report_.undecided.push_back(std::move(text));
  }

  void learn_era() {
    if (ds_) {
      for (const auto& c : ds_->commands)
        if (c.cmd == 11) era_ = Era::since_10_0;
      if (era_ == Era::unknown && dest_desc_ && ds_->has_configuration)
        era_ = dest_desc_->find("configuration") ? Era::since_8_2 : Era::before_8_2;
    }
    if (era_ == Era::unknown && dv_) {
      bool num = false;
      for (const auto& s : dv_->sections)
        if (s.description && any_num(*s.description)) {
          num = true;
          break;
        }
      if (!num) era_ = Era::before_8_1;
    }
  }
  bool dest_older_than_8_2() const { return era_ == Era::before_8_1 || era_ == Era::before_8_2; }

  std::string dest_machine() const {
    if (ds_ && ds_->has_configuration) return ds_->machine;
    if (dv_ && dv_->machine) return *dv_->machine;
    return {};
  }

  // Machine types up to 2.3 turn send-configuration and send-section-footer off (hw_compat_2_3).
  bool machine_default_on() const {
    const auto v = machine_version(dest_machine());
    return !v || *v > 203;
  }
  bool dest_expects_configuration() {
    if (ds_) return ds_->has_configuration;
    undecided("whether the destination runs with -global migration.send-configuration=off: its machine type's default assumed");
    return machine_default_on();
  }
  bool dest_expects_footers() {
    if (ds_ && !ds_->sections.empty()) return ds_->footers;
    undecided("whether the destination runs with -global migration.send-section-footer=off: its machine type's default assumed");
    return machine_default_on();
  }

  // The capabilities the destination has set for the incoming migration.
  std::vector<std::string> dest_capabilities() {
    if (dest_.capabilities) return *dest_.capabilities;
    std::vector<std::string> caps;
    if (ds_) {
      caps = ds_->capabilities;
      for (const auto& c : ds_->commands)
        if (c.cmd == 3 && c.length == 16 && !has(caps, "postcopy-ram")) caps.push_back("postcopy-ram");
      if (ds_->first_compressed_page && !has(caps, "compress")) caps.push_back("compress");
      undecided("the capabilities the destination sets for the incoming migration: taken from what its stream shows");
    } else {
      undecided("the capabilities the destination sets for the incoming migration: none assumed");
    }
    return caps;
  }

  // Validated capabilities the destination's QEMU knows (should_validate_capability).
  std::optional<bool> knows_validated(std::string_view cap) {
    if (cap == "x-ignore-shared") return true;
    if (cap == "mapped-ram") {
      if (era_ == Era::since_10_0) return true;
      if (dest_older_than_8_2()) return false;  // added in 9.0
      return std::nullopt;
    }
    if (dest_older_than_8_2()) return false;
    return std::nullopt;
  }

  // qemu_loadvm_state: the configuration first (savevm.c, vmstate_configuration).
  bool check_configuration() {
    const std::uint64_t at = dump_.has_configuration ? dump_.configuration_offset : 8;
    const bool expected = dest_expects_configuration();
    if (dump_.has_configuration && !expected) {
      error(FindingKind::load_configuration, at, "configuration",
            "the dump has a configuration section; the destination does not expect one", "Unknown savevm section type 7");
      return false;
    }
    if (!dump_.has_configuration && expected) {
      error(FindingKind::load_configuration, at, "configuration",
            "the dump has no configuration section; the destination expects one", "Configuration section missing");
      return false;
    }
    if (!dump_.has_configuration) return true;
    // Subsections load first: capability names (get_capability), then the UUID.
    for (const auto& cap : dump_.capabilities) {
      const auto known = knows_validated(cap);
      if (known && !*known) {
        error(FindingKind::load_capability, at, "configuration",
              "capability '" + cap + "' is unknown to the destination's QEMU", "Received unknown capability " + cap, cap);
        return false;
      }
      if (!known) undecided("whether the destination's QEMU knows the capability " + cap);
    }
    if (dump_.uuid) {
      if (ds_ && ds_->uuid) {
        if (*ds_->uuid != *dump_.uuid)
          error(FindingKind::load_uuid, at, "configuration", "the UUIDs differ (validate-uuid)",
                "UUID received is " + *dump_.uuid + " and local is " + *ds_->uuid, *dump_.uuid,
                *ds_->uuid);
      } else {
        undecided("the destination's -uuid (the dump was saved with validate-uuid)");
      }
    }
    // configuration_post_load: the machine type, the page size, then the capabilities.
    const std::string machine = dest_machine();
    if (machine.empty()) undecided("the destination's machine type");
    else if (machine != dump_.machine)
      error(FindingKind::load_machine, at, "configuration", "the machine types differ",
            "Machine type received is '" + dump_.machine + "' and local is '" + machine + "'", dump_.machine, machine);
    if (ds_ && ds_->has_configuration) {
      if (dump_.target_page_bits != ds_->target_page_bits) {
        auto bits = [](const std::optional<std::uint32_t>& b) { return b ? std::to_string(*b) : std::string("the legacy value"); };
        error(FindingKind::load_page_bits, at, "configuration", "the target page sizes differ",
              "Received TARGET_PAGE_BITS is " + bits(dump_.target_page_bits) + " but local is " + bits(ds_->target_page_bits),
              bits(dump_.target_page_bits), bits(ds_->target_page_bits));
      }
    } else if (dump_.target_page_bits) {
      undecided("the destination's target page size");
    }
    const auto caps = dest_capabilities();
    for (const char* cap : {"x-ignore-shared", "mapped-ram"}) {
      if (knows_validated(cap) != std::optional<bool>(true)) continue;
      const bool src = has(dump_.capabilities, cap), dst = has(caps, cap);
      if (src != dst)
        error(FindingKind::load_capability, at, "configuration", std::string("capability '") + cap + "' differs",
              std::string("Capability ") + cap + " is " + (dst ? "on" : "off") + ", but received capability is " +
                  (src ? "on" : "off"),
              src ? "on" : "off", dst ? "on" : "off", cap);
    }
    caps_ = caps;
    return true;
  }

  // loadvm_process_command: the command table of the destination's QEMU.
  void check_commands() {
    for (const auto& c : dump_.commands) {
      if (c.cmd == 11 || c.cmd > 11) {
        if (era_ == Era::since_10_0 && c.cmd == 11) continue;
        if (dest_older_than_8_2()) {
          char q[64];
          std::snprintf(q, sizeof q, "MIG_CMD 0x%x unknown (len 0x%x)", c.cmd, c.length);
          error(FindingKind::load_command, c.offset, "command", "command " + std::to_string(c.cmd) +
                " (SWITCHOVER_START, QEMU 10.0) is unknown to the destination's QEMU", q, std::to_string(c.cmd));
        } else {
          undecided("whether the destination's QEMU knows command " + std::to_string(c.cmd) + " (SWITCHOVER_START, QEMU 10.0)");
        }
      }
      if (c.cmd == 3 && c.length == 16 && !has(caps_, "postcopy-ram"))
        error(FindingKind::load_command, c.offset, "command", "the dump is a postcopy migration; the destination has no postcopy-ram",
              "RAM postcopy is disabled but have 16 byte advise");
    }
  }

  const LoadFacts::Section* dest_section(const std::string& idstr, std::uint32_t instance) const {
    for (const auto& s : ds_->sections)
      if (s.idstr == idstr && s.instance == instance) return &s;
    return nullptr;
  }

  std::string vmsd_name_of(const LoadFacts::Section& s) const {
    if (src_desc_)
      if (const auto* d = src_desc_->find(section_key(s.idstr, s.instance)); d && d->description)
        return d->description->name;
    const std::size_t slash = s.idstr.rfind('/');
    return slash == std::string::npos ? s.idstr : s.idstr.substr(slash + 1);
  }

  // qemu_loadvm_section_start_full: find_se, the versions, the body, the footer.
  void check_sections() {
    const bool footers_expected = dest_expects_footers();
    bool footer_reported = false;
    if (!ds_) undecided("which devices (sections and instances) the destination VM has: a -dump-vmstate lists device types; give a stream of the destination's configuration");
    const bool fields = src_desc_ && dest_desc_;
    if (!src_desc_) {
      undecided("subsections and fields: the dump has no description (vmdesc)");
    } else if (!dest_desc_) {
      undecided("the field layout: give a stream of the destination's configuration (its vmdesc)");
    }
    for (const auto& s : dump_.sections) {
      const std::string key = section_key(s.idstr, s.instance);
      std::optional<std::uint32_t> dest_version;
      std::optional<std::int64_t> dest_min;
      bool known = false;
      if (ds_) {
        if (const auto* d = dest_section(s.idstr, s.instance)) {
          known = true;
          dest_version = d->version;
        } else if (s.idstr == "block" || s.idstr == "dirty-bitmap") {
          known = true;  // registered on every destination, sent only when enabled
          undecided("block migration: whether the destination has the drives the dump's '" + s.idstr + "' section names");
        }
      }
      const VmsdSection* dv_entry = nullptr;
      if (dv_ && s.device) {
        auto it = by_vmsd_.find(vmsd_name_of(s));
        if (it != by_vmsd_.end()) {
          dv_entry = it->second;
          if (!ds_) known = true;
          if (!dest_version) dest_version = static_cast<std::uint32_t>(dv_entry->version_id);
          dest_min = dv_entry->minimum_version_id;
          if (!dest_min && dv_entry->description) dest_min = dv_entry->description->minimum_version_id;
        }
      }
      if (!known) {
        if (ds_) {
          error(FindingKind::load_section, s.offset, key, "section '" + s.idstr + "' instance " + std::to_string(s.instance) +
                " is not in the destination VM", unknown_section(s));
          continue;
        }
        // -dump-vmstate lists the device types it can (not piix3-ide, say), and no
        // non-device state (ram, timer, cpu_common): absence decides nothing.
        undecided("sections whose type the -dump-vmstate does not list (" + s.idstr + ", ...): give a stream of the destination's configuration");
      }
      if (dest_version && s.version > *dest_version) {
        error(FindingKind::load_version, s.offset, key, "version " + std::to_string(s.version) + " is newer than the destination's " +
              std::to_string(*dest_version), "savevm: unsupported version " + std::to_string(s.version) + " for '" + s.idstr +
              "' v" + std::to_string(*dest_version), std::to_string(s.version), std::to_string(*dest_version));
        continue;
      }
      if (dest_min && s.version < *dest_min)
        error(FindingKind::load_version, s.offset, key, "version " + std::to_string(s.version) + " is older than the destination's minimum " +
              std::to_string(*dest_min), load_error(s), std::to_string(s.version), std::to_string(*dest_min));
      if (src_desc_ && s.device) check_subsections(s, key, dv_entry);
      if (fields && s.device && dest_version && *dest_version == s.version) check_fields(s, key);
      if (!footer_reported && s.has_footer != footers_expected) {
        footer_reported = true;
        error(FindingKind::load_footer, s.end ? s.end - 1 : s.offset, key,
              s.has_footer ? "the dump's sections have footers; the destination does not expect them"
                           : "the dump's sections have no footers; the destination expects them",
              s.has_footer ? "Unknown savevm section type 126" : "Missing section footer for " + s.idstr);
      }
    }
  }

  static std::string unknown_section(const LoadFacts::Section& s) {
    return "Unknown savevm section or instance '" + s.idstr + "' " + std::to_string(s.instance) +
           ". Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices";
  }
  static std::string load_error(const LoadFacts::Section& s) {
    char b[64];
    std::snprintf(b, sizeof b, "%" PRIx32, s.instance);
    return "error while loading state for instance 0x" + std::string(b) + " of device '" + s.idstr + "'";
  }

  // vmstate_subsection_load: every subsection in the stream must be known to the
  // destination's vmsd (and in its version range); struct fields carry their own.
  void check_subsections(const LoadFacts::Section& s, const std::string& key, const VmsdSection* dv_entry) {
    const VmsdSection* src = src_desc_->find(key);
    if (!src || !src->description) return;
    const VmsdDescription* dest = nullptr;
    if (dv_entry && dv_entry->description) dest = &*dv_entry->description;
    const VmsdDescription* dest_sent = nullptr;
    if (dest_desc_)
      if (const auto* d = dest_desc_->find(key); d && d->description) dest_sent = &*d->description;
    walk_subsections(s, key, *src->description, dest, dest_sent);
  }

  void walk_subsections(const LoadFacts::Section& s, const std::string& key, const VmsdDescription& src,
                        const VmsdDescription* dest, const VmsdDescription* dest_sent) {
    auto find_sub = [](const VmsdDescription* d, const std::string& name) -> const VmsdDescription* {
      if (!d || !d->subsections) return nullptr;
      for (const auto& x : *d->subsections)
        if (x.name == name) return &x;
      return nullptr;
    };
    if (src.subsections)
      for (const auto& sub : *src.subsections) {
        const VmsdDescription* d = find_sub(dest, sub.name);
        const VmsdDescription* sent = find_sub(dest_sent, sub.name);
        if (dest && !d) {
          error(FindingKind::load_subsection, s.offset + 1, key, "subsection '" + sub.name + "' of '" + src.name +
                "' is unknown to the destination", load_error(s), sub.name, "", sub.name);
          continue;
        }
        if (!dest && !sent) {
          undecided("subsections the destination's stream did not send (e.g. '" + sub.name + "'): a -dump-vmstate of the destination decides them");
          continue;
        }
        const VmsdDescription& known = d ? *d : *sent;
        if (sub.version_id > known.version_id)
          error(FindingKind::load_version, s.offset + 1, key, "subsection '" + sub.name + "' version " + std::to_string(sub.version_id) +
                " is newer than the destination's " + std::to_string(known.version_id), load_error(s),
                std::to_string(sub.version_id), std::to_string(known.version_id), sub.name);
        else if (d && d->minimum_version_id && sub.version_id < *d->minimum_version_id)
          error(FindingKind::load_version, s.offset + 1, key, "subsection '" + sub.name + "' version " + std::to_string(sub.version_id) +
                " is older than the destination's minimum " + std::to_string(*d->minimum_version_id), load_error(s),
                std::to_string(sub.version_id), std::to_string(*d->minimum_version_id), sub.name);
        walk_subsections(s, key, sub, d, sent);
      }
    // Struct fields: their descriptions' subsections, by field name.
    if (src.fields)
      for (const auto& f : *src.fields) {
        if (!f.description) continue;
        auto field_desc = [&](const VmsdDescription* d) -> const VmsdDescription* {
          if (!d || !d->fields) return nullptr;
          for (const auto& g : *d->fields)
            if (g.field == f.field && g.description) return g.description.get();
          // A dump-vmstate names array elements once ("tx" for "tx[3]").
          const std::size_t br = f.field.find('[');
          if (br != std::string::npos)
            for (const auto& g : *d->fields)
              if (g.field == f.field.substr(0, br) && g.description) return g.description.get();
          return nullptr;
        };
        const VmsdDescription* d = field_desc(dest);
        const VmsdDescription* sent = field_desc(dest_sent);
        if (f.description->subsections && (d || sent)) walk_subsections(s, key, *f.description, d, sent);
      }
  }

  // The destination reads its own field list. A vmdesc says what was sent in
  // that VM's state (arrays split or not, buffers sized by content, fields
  // gated by field_exists, renames), so only what is certain is compared: a
  // fixed-size scalar field of one name, at one place, in both, whose sizes
  // differ — the destination would read the rest of the section misaligned.
  void check_fields(const LoadFacts::Section& s, const std::string& key) {
    const VmsdSection* a = src_desc_->find(key);
    const VmsdSection* b = dest_desc_->find(key);
    if (!a || !b || !a->description || !b->description) return;
    compare_sizes(s, key, *a->description, *b->description);
  }

  static bool fixed_scalar(std::string_view type) {
    static constexpr std::string_view kTypes[] = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                                  "uint32", "uint64", "float64", "timer"};
    return std::find(std::begin(kTypes), std::end(kTypes), type) != std::end(kTypes);
  }

  bool compare_sizes(const LoadFacts::Section& s, const std::string& key, const VmsdDescription& a, const VmsdDescription& b) {
    if (a.fields && b.fields)
      for (const auto& fa : *a.fields) {
        const VmsdField* fb = nullptr;
        for (const auto& g : *b.fields)
          if (g.field == fa.field) {
            fb = &g;
            break;
          }
        if (!fb) continue;
        if (fixed_scalar(fa.type) && fa.type == fb->type && fa.size != fb->size) {
          error(FindingKind::load_fields, s.offset + 2, key, "field '" + fa.field + "' of '" + a.name + "' is " +
                std::to_string(fa.size) + " bytes in the dump and " + std::to_string(fb->size) + " in the destination",
                dump_.footers ? "Missing section footer for " + s.idstr : load_error(s), std::to_string(fa.size),
                std::to_string(fb->size), fa.field);
          return false;  // the rest of the section is misread anyway
        }
        if (fa.description && fb->description && !compare_sizes(s, key, *fa.description, *fb->description)) return false;
      }
    if (a.subsections && b.subsections)
      for (const auto& sa : *a.subsections)
        for (const auto& sb : *b.subsections)
          if (sa.name == sb.name && sa.version_id == sb.version_id && !compare_sizes(s, key, sa, sb)) return false;
    return true;
  }

  // ram_load: MEM_SIZE block names and lengths, then the page records.
  void check_ram() {
    if (!ds_) {
      if (!dump_.blocks.empty()) undecided("RAM blocks: give a stream of the destination's configuration");
    } else {
      for (const auto& b : dump_.blocks) {
        const LoadFacts::Block* d = nullptr;
        for (const auto& x : ds_->blocks)
          if (x.name == b.name) d = &x;
        if (!d) {
          error(FindingKind::load_ramblock, b.offset, "ram", "RAM block '" + b.name + "' is not in the destination VM",
                "Unknown ramblock \"" + b.name + "\", cannot accept migration", b.name);
          break;  // ram_load stops at the first
        }
        if (d->length != b.length) {
          if (resizeable_block(b.name)) {
            add(FindingKind::load_ram_size, Severity::info, b.offset, "ram", "RAM block '" + b.name + "' is " + hex(b.length) +
                " bytes in the dump and " + hex(d->length) + " in the destination: a resizeable block, resized on load", "",
                hex(b.length), hex(d->length), b.name);
            continue;
          }
          error(FindingKind::load_ram_size, b.offset, "ram", "RAM block '" + b.name + "' has another size in the destination",
                "Size mismatch: " + b.name + ": " + hex(b.length) + " != " + hex(d->length) + ": Invalid argument",
                hex(b.length), hex(d->length), b.name);
          break;
        }
      }
    }
    if (dump_.first_compressed_page && !has(caps_, "compress"))
      error(FindingKind::load_page_kind, *dump_.first_compressed_page, "ram",
            "the dump has compressed pages; the destination has no compress capability", "Received an unexpected compressed page");
  }

  const LoadFacts& dump_;
  const LoadTarget& dest_;
  const LoadFacts* ds_;
  const VmstateDump* dv_;
  std::optional<VmstateDump> src_desc_, dest_desc_;
  std::map<std::string, const VmsdSection*> by_vmsd_;
  Era era_ = Era::unknown;
  std::vector<std::string> caps_;
  std::vector<Pending> found_;
  CheckReport report_;
};

}  // namespace

Result<CheckReport> check_load(const LoadFacts& dump, const LoadTarget& dest) {
  if (!dest.vmstate && !dest.stream)
    return make_error(ErrorCode::usage, Error::no_offset, "a load check needs a destination description");
  return LoadChecker(dump, dest).run();
}

}  // namespace migscope::compat
