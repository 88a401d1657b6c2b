#include "migscope/stream.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

#include "json/json_util.h"
#include "stream/format.h"
#include "stream/growing_walk.h"
#include "stream/ram_records.h"
#include "stream/section_readers.h"
#include "vmdesc/decoder.h"
#include "vmdesc/vmdesc.h"
#include "wire/hex.h"

namespace migscope {

std::string_view section_kind_name(SectionKind kind) noexcept {
  switch (kind) {
    case SectionKind::ram: return "ram";
    case SectionKind::device: return "device";
    case SectionKind::htab: return "htab";
    case SectionKind::storage_attributes: return "storage-attributes";
    case SectionKind::storage_keys: return "storage-keys";
    case SectionKind::dirty_bitmap: return "dirty-bitmap";
    case SectionKind::block: return "block";
    case SectionKind::vfio: return "vfio";
    case SectionKind::opaque: return "opaque";
  }
  return "unknown";
}

std::string_view page_kind_name(PageKind kind) noexcept {
  switch (kind) {
    case PageKind::zero: return "zero";
    case PageKind::page: return "page";
    case PageKind::xbzrle: return "xbzrle";
    case PageKind::compressed: return "compressed";
    case PageKind::mapped: return "mapped";
  }
  return "unknown";
}

namespace {

using namespace wire;



std::string quoted(std::string_view s) {
  std::string q;
  q.reserve(s.size() + 2);
  q.push_back('\'');
  q.append(s);
  q.push_back('\'');
  return q;
}

constexpr unsigned kMaxPackagedDepth = 4;

bool plausible_next_type(std::uint8_t b) {
  return b == kEof || b == kSectionStart || b == kSectionPart || b == kSectionEnd || b == kSectionFull ||
         b == kCommand;
}

class Walker {
 public:
  Walker(Bytes file, const StreamLocation& where, const WalkOptions& options, StreamVisitor& visitor)
      : file_(file), options_(options), vmdesc_(options.vmdesc), visitor_(visitor), ram_(RamOptions{}),
        releaser_(file, options.release_behind ? options.prefetch_threads : 0) {
    summary_.stream_offset = where.stream_offset;
  }

  /// Over a range still growing: `file` spans its whole reservation, of which
  /// `filled` bytes are there. With `deferred`, and no description given,
  /// sections that need the description are kept aside until the trailer
  /// (the description) arrives, and then decoded and reported in order.
  Walker(Bytes file, std::uint64_t filled, GrowingRange* range, const StreamLocation& where,
         const WalkOptions& options, StreamVisitor& visitor, DeferredWalk* deferred)
      : Walker(file, where, options, visitor) {
    filled_ = filled;
    growing_ = range;
    deferred_ = deferred;
    defer_sections_ = deferred && !options.vmdesc;
  }

  Result<WalkSummary> run(WalkSummary* partial) {
    Result<WalkSummary> r = run_walk(partial);
    // Sections kept aside for a description that never came: reported as the
    // mapped walk reports them without one (opaque), before the error.
    if (!r.ok() && !queue_.empty() && !(deferred_ && deferred_->needs_description)) (void)replay(nullptr);
    return r;
  }

 private:
  // A recovery: a warning (`how` says what was made of it), or under
  // WalkOptions::strict the error it stands for.
  Status warn(Warning w, const std::string& how = {}) {
    if (options_.strict)
      return make_error(ErrorCode::corrupt, w.offset, w.text + " (a strict reading refuses what it would recover)", w.remedy);
    w.text += how;
    summary_.warnings.push_back(std::move(w));
    return {};
  }

  Result<WalkSummary> run_walk(WalkSummary* partial) {
    Cursor c = growing_ ? Cursor(file_.data(), filled_, growing_, 0) : Cursor(file_, 0);
    MIGSCOPE_TRY(c.seek(summary_.stream_offset, "stream start"));
    MIGSCOPE_TRY(c.need(8, "stream header"));
    c.skip(8);  // magic and version were checked by locate_stream
    choose_page_size(nullptr);
    if (Status st = walk_sections(c, 0); !st.ok()) {
      if (partial) {
        summary_.end_offset = st.error().has_offset() ? st.error().offset : c.offset();
        summary_.footers = footers_.value_or(false);
        summary_.ram_blocks = ram_.blocks();
        *partial = std::move(summary_);
      }
      return std::move(st).error();
    }
    Status st = read_trailer(c);
    if (st.ok() && defer_sections_) st = learn_description(c);
    if (!st.ok()) {
      if (partial) {
        summary_.end_offset = c.offset();
        summary_.footers = footers_.value_or(false);
        summary_.ram_blocks = ram_.blocks();
        *partial = std::move(summary_);
      }
      return std::move(st).error();
    }
    if (guessed_ends_ > 0)
      MIGSCOPE_TRY(warn({c.offset(),
                         std::to_string(guessed_ends_) + " section(s) had their end guessed, having no description and no footers",
                         Remedy::give_description}));
    summary_.end_offset = c.offset();
    summary_.footers = footers_.value_or(false);
    summary_.ram_blocks = ram_.blocks();
    return std::move(summary_);
  }

  // The end of a deferred walk: the trailer, if any, is the description the
  // sections kept aside are decoded with.
  Status learn_description(const Cursor& c) {
    const std::uint64_t end = c.offset();
    Bytes stream = file_.subspan(summary_.stream_offset, end - summary_.stream_offset);
    deferred_->trailer = find_vmdesc_trailer(stream, summary_.stream_offset);
    if (deferred_->trailer) {
      auto parsed = Vmdesc::parse(deferred_->trailer->json, deferred_->trailer->offset + 5);
      if (!parsed.ok()) return std::move(parsed).error();
      deferred_->vmdesc.emplace(std::move(parsed).value());
      vmdesc_ = &*deferred_->vmdesc;
      // RAM was read with another page size than the description's (a target
      // whose page size the configuration does not state): its pages are wrong.
      if (!options_.page_size && vmdesc_->page_size() && *vmdesc_->page_size() != summary_.page_size)
        return make_error(ErrorCode::unsupported, deferred_->trailer->offset,
                          "the description at the end of the stream gives page size " +
                              std::to_string(*vmdesc_->page_size()) + ", but RAM was read with " +
                              std::to_string(summary_.page_size) + " (" + std::string(summary_.page_size_source) + ")");
      // The same size: it comes from the description, as a mapped walk says.
      if (!options_.page_size && vmdesc_->page_size()) summary_.page_size_source = "vmdesc";
    }
    return replay(vmdesc_);
  }

  Status needs_description(std::uint64_t at) {
    deferred_->needs_description = true;
    deferred_->delivered_before = at;
    deferred_->events_from = queue_.empty() ? at : (queue_.front().is_section ? queue_.front().event.offset : queue_.front().command.offset);
    deferred_->configuration_delivered = summary_.configuration.has_value();
    return make_error(ErrorCode::unsupported, at, "this stream must be walked with its description known first");
  }

  // Report what was kept aside, in stream order, decoding the kept sections
  // with `vmdesc` (or as opaque without one).
  Status replay(const Vmdesc* vmdesc) {
    vmdesc_ = vmdesc;
    std::vector<Queued> queue = std::move(queue_);
    queue_.clear();
    queueing_ = false;
    for (Queued& q : queue) {
      if (!q.is_section) {
        q.command.payload = Bytes{q.bytes.data(), q.bytes.size()};
        MIGSCOPE_TRY(visitor_.on_command(q.command));
        continue;
      }
      SectionEvent& ev = q.event;
      if (!q.kept) {
        MIGSCOPE_TRY(visitor_.on_section(ev));
        continue;
      }
      SectionInfo& info = *const_cast<SectionInfo*>(ev.info);
      if (q.fresh) info.kind = classify(info.idstr, info.instance_id, &info.desc);
      Cursor kept(Bytes{q.bytes.data(), q.bytes.size()}, ev.offset);
      MIGSCOPE_TRY(kept.seek(ev.body_offset, "kept section body"));
      std::optional<FieldValue> state;
      MIGSCOPE_TRY(read_named_body(kept, info, ev.type, state));
      ev.body_end = kept.offset();
      ev.body = Bytes{q.bytes.data() + (ev.body_offset - ev.offset), ev.body_end - ev.body_offset};
      ev.state = state ? &*state : nullptr;
      MIGSCOPE_TRY(read_footer(kept, info, ev));
      ev.end = kept.offset();
      MIGSCOPE_TRY(visitor_.on_section(ev));
    }
    return {};
  }

  void choose_page_size(const Configuration* config) {
    if (options_.page_size) {
      summary_.page_size = *options_.page_size;
      summary_.page_size_source = "option";
    } else if (vmdesc_ && vmdesc_->page_size()) {
      summary_.page_size = *vmdesc_->page_size();
      summary_.page_size_source = "vmdesc";
    } else if (config && config->target_page_bits && *config->target_page_bits >= 10 && *config->target_page_bits <= 20) {
      summary_.page_size = std::uint64_t{1} << *config->target_page_bits;
      summary_.page_size_source = "configuration";
    } else {
      summary_.page_size = 4096;
      summary_.page_size_source = "default";
    }
    RamOptions ro = ram_.options();
    ro.page_size = summary_.page_size;
    ro.releaser = options_.release_behind ? &releaser_ : nullptr;
    ro.progress = options_.progress;
    if (config) {
      ro.ignore_shared = config->has_capability("x-ignore-shared");
      ro.mapped_ram = config->has_capability("mapped-ram");
    }
    ram_.set_options(ro);
  }

  Status walk_sections(Cursor& c, unsigned depth) {
    for (;;) {
      if (depth > 0 && c.at_end()) return {};
      const std::uint64_t at = c.offset();
      MIGSCOPE_ASSIGN(std::uint8_t type, c.read_u8("section type byte"));
      switch (type) {
        case kEof:
          if (depth == 0) summary_.eof_offset = at;
          return {};
        case kConfiguration:
          if (depth > 0 || summary_.configuration || summary_.sections > 0 || summary_.commands > 0)
            return make_error(ErrorCode::corrupt, at, "configuration section (0x07) after the start of the stream");
          MIGSCOPE_TRY(read_configuration(c, at));
          break;
        case kSectionStart:
        case kSectionFull:
        case kSectionPart:
        case kSectionEnd:
          MIGSCOPE_TRY(read_section(c, type, at, depth));
          break;
        case kCommand: {
          bool quit = false;
          MIGSCOPE_TRY(read_command(c, at, depth, &quit));
          if (quit && depth > 0) return {};
          break;
        }
        case kSectionFooter:
          return make_error(ErrorCode::corrupt, at, "section footer (0x7e) where a section type byte was expected");
        default: {
          char buf[96];
          std::snprintf(buf, sizeof buf, "unknown section type 0x%02x (expected 0x00-0x04, 0x07 or 0x08)", type);
          return make_error(ErrorCode::corrupt, at, buf);
        }
      }
    }
  }

  Status read_trailer(Cursor& c) {
    c.fill_to_end();
    if (c.at_end()) return {};
    const std::uint64_t at = c.offset();
    if (c.remaining() >= 5 && static_cast<std::uint8_t>(*c.data()) == kVmdescription) {
      std::uint32_t len = load_be32(c.data() + 1);
      if (len == c.remaining() - 5) {
        summary_.trailer_offset = at;
        summary_.trailer_length = len;
        c.skip(c.remaining());
        return {};
      }
      // A trailer cut short is a truncated file, whatever was decoded before it.
      if (len > c.remaining() - 5)
        return make_error(ErrorCode::truncated, at,
                          "VMDESCRIPTION trailer of " + std::to_string(len) + " bytes, but only " +
                              std::to_string(c.remaining() - 5) + " follow: the input was cut short");
      return warn({at, "VMDESCRIPTION length " + std::to_string(len) + " does not reach the end of the input (" +
                           std::to_string(c.remaining() - 5) + " bytes follow)"});
    }
    if (c.remaining() >= 1 && static_cast<std::uint8_t>(*c.data()) == kVmdescription)
      return make_error(ErrorCode::truncated, at, "VMDESCRIPTION trailer cut inside its length");
    return warn({at, std::to_string(c.remaining()) + " bytes after EOF are not a VMDESCRIPTION trailer"});
  }

  Status read_configuration(Cursor& c, std::uint64_t at) {
    Configuration conf;
    conf.offset = at;
    MIGSCOPE_ASSIGN(std::uint32_t len, c.read_be32("configuration name length"));
    MIGSCOPE_ASSIGN(Bytes name, c.read_bytes(len, "configuration machine name"));
    conf.machine = as_chars(name);
    while (!c.at_end() && static_cast<std::uint8_t>(*c.data()) == kSubsection) {
      const std::uint64_t sub_at = c.offset();
      c.skip(1);
      MIGSCOPE_ASSIGN(std::string_view sub, c.read_counted_string("configuration subsection name"));
      MIGSCOPE_TRY(c.read_be32("configuration subsection version"));
      if (sub == "configuration/target-page-bits") {
        MIGSCOPE_ASSIGN(std::uint32_t bits, c.read_be32("target-page-bits"));
        // QEMU's targets use 1 KiB..64 KiB pages; allow up to 1 MiB, no more (a page is allocated per worker).
        if (bits < 10 || bits > 20)
          return make_error(ErrorCode::corrupt, c.offset() - 4, "target-page-bits " + std::to_string(bits) + " (expected 10..20)");
        conf.target_page_bits = bits;
      } else if (sub == "configuration/capabilities") {
        MIGSCOPE_ASSIGN(std::uint32_t count, c.read_be32("capability count"));
        if (!c.has(count))
          return make_error(ErrorCode::corrupt, c.offset() - 4,
                            "capability count " + std::to_string(count) + " exceeds the bytes left");
        for (std::uint32_t i = 0; i < count; ++i) {
          MIGSCOPE_ASSIGN(std::string_view cap, c.read_counted_string("capability name"));
          conf.capabilities.push_back(cap);
        }
      } else if (sub == "configuration/uuid") {
        MIGSCOPE_ASSIGN(Bytes uuid, c.read_bytes(16, "configuration uuid"));
        conf.uuid = uuid;
      } else if (const rapidjson::Value* desc = configuration_subsection_desc(sub)) {
        auto v = decode_device(*desc, c, sub);
        if (!v.ok()) return std::move(v).error();
      } else if (defer_sections_) {
        return needs_description(sub_at);
      } else {
        return make_error(ErrorCode::unsupported, sub_at,
                          "unknown configuration subsection " + quoted(sub) + " and no description of it in the vmdesc");
      }
    }
    // mapped-ram pages lie at offsets ahead, read after the headers: a window
    // that forgets what lies behind cannot give them.
    if (deferred_ && growing_ && growing_->retained_behind() != UINT64_MAX && conf.has_capability("mapped-ram"))
      return needs_description(at);
    summary_.configuration = conf;
    choose_page_size(&*summary_.configuration);
    return visitor_.on_configuration(*summary_.configuration);
  }

  const rapidjson::Value* configuration_subsection_desc(std::string_view name) const {
    if (!vmdesc_ || !vmdesc_->configuration()) return nullptr;
    const auto* subs = json::member(*vmdesc_->configuration(), "subsections");
    if (!subs || !subs->IsArray()) return nullptr;
    for (const auto& s : subs->GetArray())
      if (s.IsObject() && json::string_member(s, "vmsd_name") == name) return &s;
    return nullptr;
  }

  Status read_command(Cursor& c, std::uint64_t at, unsigned depth, bool* quit) {
    MIGSCOPE_TRY(c.need(4, "command header"));
    Command cmd;
    cmd.offset = at;
    cmd.depth = depth;
    cmd.cmd = c.be16();
    std::uint16_t len = c.be16();
    MIGSCOPE_ASSIGN(cmd.payload, c.read_bytes(len, "command payload"));
    if (cmd.cmd == kCmdInvalid || cmd.cmd >= kCmdMax)
      return make_error(ErrorCode::corrupt, at, "unknown command " + hex(cmd.cmd) + " (length " + std::to_string(len) + ")");
    static constexpr int kExpectedLen[kCmdMax] = {0, 0, 4, -1, 0, 0, -1, 4, 0, 0, -1, 0};
    int expected = kExpectedLen[cmd.cmd];
    if (expected >= 0 && len != expected)
      return make_error(ErrorCode::corrupt, at,
                        std::string(command_name(cmd.cmd)) + " with length " + std::to_string(len) + ", expected " +
                            std::to_string(expected));
    ++summary_.commands;
    switch (cmd.cmd) {
      case kCmdPing:
      case kCmdPackaged:
        cmd.value = load_be32(cmd.payload.data());
        break;
      case kCmdPostcopyAdvise:
        if (len != 0 && len != 16)
          return make_error(ErrorCode::corrupt, at, "POSTCOPY_ADVISE with length " + std::to_string(len) + ", expected 0 or 16");
        if (len == 16) {
          cmd.advised_page_sizes = load_be64(cmd.payload.data());
          cmd.advised_target_page_size = load_be64(cmd.payload.data() + 8);
          RamOptions ro = ram_.options();
          ro.postcopy_page_sizes = *cmd.advised_page_sizes;
          ram_.set_options(ro);
        }
        break;
      case kCmdPostcopyRamDiscard:
        MIGSCOPE_TRY(read_ram_discard(cmd));
        break;
      case kCmdRecvBitmap:
        if (len < 1 || static_cast<std::uint8_t>(cmd.payload[0]) + 1u != len)
          return make_error(ErrorCode::corrupt, at, "RECV_BITMAP: the name length does not match the command length");
        cmd.block_name = as_chars(cmd.payload.subspan(1));
        break;
      case kCmdPostcopyRun:
        *quit = true;
        break;
      default:
        break;
    }
    if (queueing_) {
      Queued q;
      q.command = cmd;
      q.bytes.assign(cmd.payload.begin(), cmd.payload.end());
      MIGSCOPE_TRY(keep(q));
    } else {
      MIGSCOPE_TRY(visitor_.on_command(cmd));
    }
    if (cmd.cmd == kCmdPostcopyRamDiscard) {
      RamDiscard discard;
      discard.offset = at;
      discard.block = discard_block_;
      discard.ranges = discard_ranges_;
      MIGSCOPE_TRY(visitor_.on_ram_discard(ram_.blocks(), discard));
    }
    if (cmd.cmd == kCmdPackaged) {
      std::uint32_t blob_len = load_be32(cmd.payload.data());
      if (depth + 1 > kMaxPackagedDepth)
        return make_error(ErrorCode::corrupt, at, "PACKAGED commands nested deeper than " + std::to_string(kMaxPackagedDepth));
      MIGSCOPE_ASSIGN(Cursor blob, c.sub(blob_len, "PACKAGED blob"));
      MIGSCOPE_TRY(walk_sections(blob, depth + 1));
      if (!blob.at_end())
        MIGSCOPE_TRY(warn({blob.offset(), std::to_string(blob.remaining()) + " bytes of the PACKAGED blob follow its end"}));
    }
    return {};
  }

  // u8 version (0), u8 name length, name, u8 0, then (be64 start, be64 length)
  // byte ranges of the block (migration/savevm.c).
  Status read_ram_discard(Command& cmd) {
    const std::uint64_t at = cmd.offset;
    Bytes p = cmd.payload;
    if (p.size() < 3 || p[0] != std::byte{0})
      return make_error(ErrorCode::corrupt, at, "POSTCOPY_RAM_DISCARD: expected version 0 and a block name");
    const std::size_t n = static_cast<std::uint8_t>(p[1]);
    if (p.size() < 3 + n) return make_error(ErrorCode::corrupt, at, "POSTCOPY_RAM_DISCARD: name runs past the command");
    cmd.block_name = as_chars(p.subspan(2, n));
    std::optional<std::uint32_t> block = ram_.find_block(cmd.block_name);
    if (!block)
      return make_error(ErrorCode::corrupt, at,
                        "POSTCOPY_RAM_DISCARD for block '" + std::string(cmd.block_name) + "', which MEM_SIZE never announced");
    const std::uint64_t length = ram_.blocks()[*block].length;
    discard_block_ = *block;
    discard_ranges_.clear();
    for (std::size_t i = 3 + n; i + 16 <= p.size(); i += 16) {
      RamDiscard::Range r{load_be64(p.data() + i), load_be64(p.data() + i + 8)};
      // QEMU discards whole pages only (ram_block_discard_range refuses the rest).
      const std::uint64_t ps = ram_.options().page_size;
      if (r.start % ps != 0 || r.length % ps != 0)
        return make_error(ErrorCode::corrupt, at,
                          "POSTCOPY_RAM_DISCARD range 0x" + hex_digits(r.start) + "+0x" + hex_digits(r.length) + " of block '" +
                              std::string(cmd.block_name) + "' is not aligned to the page size " + std::to_string(ps));
      if (r.start > length || r.length > length - r.start)
        return make_error(ErrorCode::corrupt, at,
                          "POSTCOPY_RAM_DISCARD range outside block '" + std::string(cmd.block_name) + "'");
      discard_ranges_.push_back(r);
    }
    return {};
  }

  SectionKind classify(std::string_view idstr, std::uint32_t instance, const DeviceDescription** desc) const {
    *desc = nullptr;
    if (idstr == "ram") return SectionKind::ram;
    if (idstr == "spapr/htab") return SectionKind::htab;
    if (idstr == "s390-storage_attributes") return SectionKind::storage_attributes;
    if (idstr == "dirty-bitmap") return SectionKind::dirty_bitmap;
    if (idstr == "block") return SectionKind::block;
    if (idstr == "vfio" || (idstr.size() > 5 && idstr.substr(idstr.size() - 5) == "/vfio")) return SectionKind::vfio;
    if (vmdesc_) {
      if (const auto* d = vmdesc_->device(idstr, instance)) {
        *desc = as_description(d);
        return SectionKind::device;
      }
    }
    if (idstr == "s390-skeys") return SectionKind::storage_keys;
    return SectionKind::opaque;
  }

  Status read_section(Cursor& c, std::uint8_t type, std::uint64_t at, unsigned depth) {
    SectionInfo* info = nullptr;
    MIGSCOPE_ASSIGN(std::uint32_t id, c.read_be32("section id"));
    if (type == kSectionStart || type == kSectionFull) {
      SectionInfo fresh;
      fresh.id = id;
      MIGSCOPE_ASSIGN(fresh.idstr, c.read_counted_string("section name"));
      MIGSCOPE_TRY(c.need(8, "section instance and version"));
      fresh.instance_id = c.be32();
      fresh.version_id = c.be32();
      fresh.kind = classify(fresh.idstr, fresh.instance_id, &fresh.desc);
      if (fresh.kind == SectionKind::ram && fresh.version_id != 4)
        return make_error(ErrorCode::unsupported, c.offset() - 4,
                          "RAM section version " + std::to_string(fresh.version_id) + " (only version 4 exists)");
      info = &(sections_[id] = fresh);
    } else {
      auto it = sections_.find(id);
      if (it == sections_.end())
        return make_error(ErrorCode::corrupt, at,
                          std::string(section_type_name(type)) + " for section id " + std::to_string(id) +
                              ", which no SECTION_START announced");
      info = &it->second;
    }
    ++summary_.sections;
    SectionEvent ev;
    ev.type = type;
    ev.info = info;
    ev.offset = at;
    ev.body_offset = c.offset();
    ev.depth = depth;
    // A deferred walk keeps a section that needs the description aside: its
    // end is its footer, it is decoded when the trailer has been read.
    const bool kept = defer_sections_ && needs_vmdesc(*info);
    if (kept && footers_ == false) return needs_description(at);  // its end cannot be found without it
    std::optional<FieldValue> state;
    MIGSCOPE_TRY(kept ? read_named(c, *info, type, [&] { return skip_to_footer(c, *info); })
                      : read_named_body(c, *info, type, state));
    ev.body_end = c.offset();
    ev.body = file_.subspan(ev.body_offset, ev.body_end - ev.body_offset);
    if (state) ev.state = &*state;
    MIGSCOPE_TRY(read_footer(c, *info, ev));
    ev.end = c.offset();
    // A window that forgets what lies far behind the walk cannot keep a
    // section that large (none is: device state is kilobytes).
    if (kept && growing_ && ev.end - ev.offset > growing_->retained_behind() / 2) return needs_description(at);
    if (kept || queueing_) {
      Queued q;
      q.is_section = true;
      q.kept = kept;
      q.fresh = type == kSectionStart || type == kSectionFull;
      q.event = ev;
      if (kept) q.bytes.assign(file_.data() + ev.offset, file_.data() + ev.end);
      q.event.body = {};  // not kept: RAM and the other kinds carry nothing consumers read later
      q.event.state = nullptr;
      queueing_ = true;
      return keep(q);
    }
    if (options_.progress) options_.progress->store(ev.end, std::memory_order_relaxed);
    return visitor_.on_section(ev);
  }

  // Whether decoding this section needs the description (its kind comes from it).
  bool needs_vmdesc(const SectionInfo& info) const {
    return info.kind == SectionKind::opaque || info.kind == SectionKind::storage_keys || info.kind == SectionKind::device;
  }

  template <typename Read>
  Status read_named(Cursor&, const SectionInfo& info, std::uint8_t type, Read read) {
    if (Status st = read(); !st.ok()) {
      // Name the section in every error from its body.
      Error e = std::move(st).error();
      if (e.detail.rfind("section '", 0) != 0)
        e.detail = "section " + quoted(info.idstr) + " (id " + std::to_string(info.id) + ", " +
                   std::string(section_type_name(type)) + "): " + e.detail;
      return e;
    }
    return {};
  }
  Status read_named_body(Cursor& c, const SectionInfo& info, std::uint8_t type, std::optional<FieldValue>& state) {
    return read_named(c, info, type, [&] { return read_body(c, info, state); });
  }

  struct Queued {
    bool is_section = false;
    bool kept = false;   // its bytes are kept, to be decoded with the description
    bool fresh = false;  // START or FULL: classify again
    SectionEvent event;
    Command command;
    std::vector<std::byte> bytes;
  };
  static constexpr std::uint64_t kMaxKept = 256u << 20;

  Status keep(Queued& q) {
    kept_bytes_ += q.bytes.size() + sizeof(Queued);
    if (kept_bytes_ > kMaxKept)
      return make_error(ErrorCode::unsupported, q.is_section ? q.event.offset : q.command.offset,
                        "more than " + std::to_string(kMaxKept >> 20) +
                            " MiB of device state before the description at the end of the stream");
    queue_.push_back(std::move(q));
    return {};
  }

  // A footer follows the body when the stream uses them; the first section tells.
  Status read_footer(Cursor& c, const SectionInfo& info, SectionEvent& ev) {
    const std::uint64_t at = c.offset();
    bool present = c.has(1) && static_cast<std::uint8_t>(*c.data()) == kSectionFooter;
    if (!present) {
      if (footers_.value_or(false))
        return make_error(ErrorCode::corrupt, at,
                          "missing section footer for " + quoted(info.idstr) + " (id " + std::to_string(info.id) + ")");
      footers_ = false;
      return {};
    }
    if (footers_ == false)
      return make_error(ErrorCode::corrupt, at, "section footer after " + quoted(info.idstr) + " although earlier sections had none");
    MIGSCOPE_TRY(c.need(5, "section footer"));
    c.skip(1);
    std::uint32_t id = c.be32();
    if (id != info.id)
      return make_error(ErrorCode::corrupt, at,
                        "mismatched section footer for " + quoted(info.idstr) + ": read id " + std::to_string(id) +
                            ", expected " + std::to_string(info.id));
    footers_ = true;
    ev.has_footer = true;
    return {};
  }

  bool footer_follows(const Cursor& c, const SectionInfo& info) const {
    if (c.has(5) && static_cast<std::uint8_t>(*c.data()) == kSectionFooter && load_be32(c.data() + 1) == info.id)
      return true;
    if (footers_ == true) return false;
    // Without footers, a description that fits ends right before the next section.
    return !c.has(1) || plausible_next_type(static_cast<std::uint8_t>(*c.data()));
  }

  // Find the end of an undescribed section: the footer "7e <id>" followed by a
  // plausible next section byte.
  Status skip_to_footer(Cursor& c, const SectionInfo& info) {
    const std::uint64_t at = c.offset();
    if (footers_ == false) return skip_to_next_header(c, info);
    // On a growing range, look in what is there, then wait for more: the
    // footer is usually near (undescribed sections are small).
    std::size_t want = std::size_t{1} << 16;
    for (std::size_t scanned = 0;;) {
      const bool all = !c.has(want);
      const std::byte* p = c.data() + scanned;
      const std::byte* end = c.data() + c.remaining();
      while (p < end) {
        const void* hit = std::memchr(p, kSectionFooter, static_cast<std::size_t>(end - p));
        if (!hit) break;
        const std::byte* q = static_cast<const std::byte*>(hit);
        if (!all && end - q < 6) break;  // a footer across the end: look again with more
        if (end - q >= 5 && load_be32(q + 1) == info.id &&
            (end - q == 5 || plausible_next_type(static_cast<std::uint8_t>(q[5])))) {
          c.skip(static_cast<std::size_t>(q - c.data()));
          return {};
        }
        p = q + 1;
      }
      if (all) break;
      scanned = static_cast<std::size_t>(p - c.data());
      want = c.remaining() * 2;
    }
    return make_error(ErrorCode::truncated, at,
                      "no footer found for section " + quoted(info.idstr) + " (id " + std::to_string(info.id) +
                          "), which has no description");
  }

  // Without footers nor description, the section ends where the next
  // plausible section header starts: a FULL/START header whose id is unused or
  // names the same section again, with a printable name and small instance and
  // version numbers; or the final EOF byte (followed by nothing or a trailer).
  bool plausible_header(const std::byte* q, const std::byte* end) const {
    auto type = static_cast<std::uint8_t>(*q);
    if (type == kEof) {
      std::size_t left = static_cast<std::size_t>(end - q) - 1;
      return left == 0 || (left >= 5 && static_cast<std::uint8_t>(q[1]) == kVmdescription && load_be32(q + 2) == left - 5);
    }
    if (type != kSectionFull && type != kSectionStart) return false;
    if (end - q < 6) return false;
    std::uint32_t id = load_be32(q + 1);
    std::size_t len = static_cast<std::uint8_t>(q[5]);
    if (len == 0 || static_cast<std::size_t>(end - q) < 6 + len + 8) return false;
    std::string_view name(reinterpret_cast<const char*>(q + 6), len);
    for (char ch : name)
      if (ch < 0x20 || ch > 0x7e) return false;
    std::uint32_t instance = load_be32(q + 6 + len);
    std::uint32_t version = load_be32(q + 10 + len);
    if (instance > 0xffff || version > 0xffff) return false;
    auto it = sections_.find(id);
    return it == sections_.end() || it->second.idstr == name;
  }

  Status skip_to_next_header(Cursor& c, const SectionInfo& info) {
    c.fill_to_end();  // rare (no footers, no description): a guess over all that follows
    const std::byte* p = c.data();
    const std::byte* end = p + c.remaining();
    for (const std::byte* q = p; q < end; ++q) {
      if (plausible_header(q, end)) {
        if (guessed_ends_++ == 0)
          MIGSCOPE_TRY(warn({c.offset(), "section " + quoted(info.idstr) + ": no description and no footers",
                             Remedy::give_description},
                            "; its end was guessed at the next plausible section header (" + hex(c.offset_of(q)) +
                                "), and likewise for the sections counted below"));
        c.skip(static_cast<std::size_t>(q - p));
        return {};
      }
    }
    return make_error(ErrorCode::unsupported, c.offset(),
                      "section " + quoted(info.idstr) + " (id " + std::to_string(info.id) +
                          ") has no description and the stream has no footers: its end cannot be found",
                      Remedy::give_description);
  }

  Status read_device(Cursor& c, const SectionInfo& info, std::optional<FieldValue>& state) {
    Cursor trial = c;
    auto first = decode_device(description_json(*info.desc), trial, info.idstr);
    if (first.ok() && footer_follows(trial, info)) {
      c = trial;
      state = std::move(first).value();
      return {};
    }
    if (footers_ == false) {
      if (!first.ok()) return std::move(first).error();
      return make_error(ErrorCode::corrupt, trial.offset(),
                        "section " + quoted(info.idstr) + " does not end where its description ends");
    }
    // QEMU 7.2 describes NULL pointer elements as their struct type: retry reading 0x30 as the marker.
    Cursor retry = c;
    auto second = decode_device(description_json(*info.desc), retry, info.idstr, DecodeOptions{true});
    if (second.ok() && footer_follows(retry, info)) {
      summary_.warnings.push_back({c.offset(), "section " + quoted(info.idstr) +
                                                   ": NULL pointer markers described as structs (QEMU 7.2 vmdesc); read as nullptr"});
      c = retry;
      state = std::move(second).value();
      return {};
    }
    std::string why = first.ok() ? "it ends at " + hex(trial.offset()) + ", not at the footer" : first.error().message();
    MIGSCOPE_TRY(warn({c.offset(), "section " + quoted(info.idstr) + " does not match its description (" + why + ")"},
                      "; shown as opaque bytes"));
    return skip_to_footer(c, info);
  }

  Status read_body(Cursor& c, const SectionInfo& info, std::optional<FieldValue>& state) {
    switch (info.kind) {
      case SectionKind::ram:
        return ram_.parse_body(c, info, visitor_);
      case SectionKind::device:
        return read_device(c, info, state);
      case SectionKind::htab:
        return read_htab(c);
      case SectionKind::storage_attributes:
        return read_storage_attributes(c);
      case SectionKind::storage_keys:
        return read_storage_keys(c);
      case SectionKind::dirty_bitmap:
        return read_dirty_bitmap(c);
      case SectionKind::block:
        return read_block_migration(c);
      case SectionKind::vfio: {
        MIGSCOPE_ASSIGN(VfioEnd end, read_vfio(c));
        // The PCI config state is a vmstate without description: find the footer.
        if (end == VfioEnd::config_state) return skip_to_footer(c, info);
        return {};
      }
      case SectionKind::opaque:
        return skip_to_footer(c, info);
    }
    return {};
  }

  Bytes file_;
  const WalkOptions& options_;
  const Vmdesc* vmdesc_;   // the description sections are decoded with (a deferred walk learns it at the end)
  std::uint64_t filled_ = 0;
  GrowingRange* growing_ = nullptr;
  DeferredWalk* deferred_ = nullptr;  // where to say the walk must be done another way
  bool defer_sections_ = false;        // sections that need the description wait for it
  bool queueing_ = false;             // events wait behind a kept section, to stay in stream order
  std::vector<Queued> queue_;
  std::uint64_t kept_bytes_ = 0;
  StreamVisitor& visitor_;
  RamParser ram_;
  MappingReleaser releaser_;
  std::unordered_map<std::uint32_t, SectionInfo> sections_;
  std::optional<bool> footers_;
  std::uint64_t guessed_ends_ = 0;
  std::uint32_t discard_block_ = 0;                 // the last POSTCOPY_RAM_DISCARD, decoded
  std::vector<RamDiscard::Range> discard_ranges_;
  WalkSummary summary_;
};

}  // namespace

Result<WalkSummary> walk_stream(Bytes file, const StreamLocation& where, const WalkOptions& options,
                                StreamVisitor& visitor, WalkSummary* partial) {
  if (where.format == InputFormat::qcow2)
    return make_error(ErrorCode::usage, 0, "a qcow2 image: walk a snapshot's VM state (Dump::open reads it)");
  if (where.compression != Compression::none)
    return make_error(ErrorCode::usage, where.payload_offset,
                      "the stream is " + std::string(compression_name(where.compression)) +
                          "-compressed: walk its decompressed bytes (Dump::open does that)");
  Walker w(file, where, options, visitor);
  return w.run(partial);
}

Result<WalkSummary> walk_growing(const GrowingInput& in, const StreamLocation& where, const WalkOptions& options,
                                 StreamVisitor& visitor, WalkSummary* partial, DeferredWalk* deferred) {
  Walker w(Bytes{in.base, static_cast<std::size_t>(in.reserved)}, in.range->wait_for(where.stream_offset + 8, 0), in.range,
           where, options, visitor, deferred);
  return w.run(partial);
}

}  // namespace migscope
