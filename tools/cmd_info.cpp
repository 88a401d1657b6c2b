// migscope info FILE [--json]: what the stream holds and where.
#include <cstdio>
#include <optional>
#include <string>

#include <boost/program_options.hpp>

#include "common.h"
#include "progress.h"
#include "guest_map.h"
#include "json/py_writer.h"
#include "migscope/ops.h"
#include "stream/format.h"
#include "stream_output.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace migscope::tools {

namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string size_text(std::uint64_t kib) {
  char buf[48];
  if (kib % (1024 * 1024) == 0) std::snprintf(buf, sizeof buf, "%llu GiB", static_cast<unsigned long long>(kib >> 20));
  else if (kib % 1024 == 0) std::snprintf(buf, sizeof buf, "%llu MiB", static_cast<unsigned long long>(kib >> 10));
  else std::snprintf(buf, sizeof buf, "%llu KiB", static_cast<unsigned long long>(kib));
  return buf;
}

// The container lines of a libvirt save image (nothing for a bare stream).
void print_container_text(const Dump& s) {
  const LibvirtHeader* h = s.libvirt();
  if (!h) return;
  std::printf("libvirt:       save image v%u (%s-endian), format %s, data_len %u, %s%s\n", h->version,
              h->big_endian ? "big" : "little", libvirt_format_name(h->format).c_str(), h->data_len,
              h->was_running ? "was running" : "was paused",
              h->complete ? "" : ", INCOMPLETE (magic 'LibvirtQemudPart': the save never finished)");
  auto d = summarize_domain_xml(h->xml);
  if (!d.ok()) {
    std::printf("domain:        (the domain XML does not parse: %s)\n", d.error().message().c_str());
    return;
  }
  std::printf("domain:        '%s' uuid %s, %s, %u vCPU%s, machine %s (%s), type %s\n", printable(d->name).c_str(),
              printable(d->uuid).c_str(), size_text(d->memory_kib).c_str(), d->vcpus, d->vcpus == 1 ? "" : "s",
              printable(d->machine).c_str(), printable(d->arch).c_str(), printable(d->type).c_str());
  if (!d->emulator.empty()) std::printf("emulator:      %s\n", printable(d->emulator).c_str());
  for (const DomainDisk& k : d->disks)
    std::printf("disk:          %s (%s, %s%s%s) %s\n", printable(k.target).c_str(), printable(k.device).c_str(),
                printable(k.type).c_str(), k.format.empty() ? "" : ", ", printable(k.format).c_str(),
                printable(k.source).c_str());
}

void write_container_json(json::PyWriter& w, const Dump& s) {
  const StreamLocation& loc = s.location();
  w.key("compression"); w.string(compression_name(loc.compression));
  if (loc.compression != Compression::none) {
    w.key("payload_offset"); w.uint64(loc.payload_offset);
    w.key("stream_size"); w.uint64(s.size());
  }
  w.key("snapshot");
  if (const Qcow2Snapshot* sn = s.snapshot()) {
    w.start_object();
    w.key("id"); w.string(sn->id);
    w.key("name"); w.string(sn->name);
    w.key("vm_state_size"); w.uint64(sn->vm_state_size);
    w.key("date_sec"); w.uint64(sn->date_sec);
    w.key("vm_clock_nsec"); w.uint64(sn->vm_clock_nsec);
    w.end_object();
  } else {
    w.null();
  }
  w.key("libvirt");
  const LibvirtHeader* h = s.libvirt();
  if (!h) {
    w.null();
    return;
  }
  w.start_object();
  w.key("complete"); w.boolean(h->complete);
  w.key("version"); w.uint64(h->version);
  w.key("byte_order"); w.string(h->big_endian ? "big" : "little");
  w.key("format"); w.uint64(h->format);
  w.key("format_name"); w.string(libvirt_format_name(h->format));
  w.key("data_len"); w.uint64(h->data_len);
  w.key("was_running"); w.uint64(h->was_running);
  w.key("cookie_offset"); w.uint64(h->cookie_offset);
  w.key("domain");
  auto d = summarize_domain_xml(h->xml);
  if (!d.ok()) {
    w.null();
    w.key("domain_error"); w.string(d.error().message());
  } else {
    w.start_object();
    w.key("name"); w.string(d->name);
    w.key("uuid"); w.string(d->uuid);
    w.key("type"); w.string(d->type);
    w.key("arch"); w.string(d->arch);
    w.key("machine"); w.string(d->machine);
    w.key("emulator"); w.string(d->emulator);
    w.key("memory_kib"); w.uint64(d->memory_kib);
    w.key("vcpus"); w.uint64(d->vcpus);
    w.key("disks"); w.start_array();
    for (const DomainDisk& k : d->disks) {
      w.start_object();
      w.key("device"); w.string(k.device);
      w.key("type"); w.string(k.type);
      w.key("source"); w.string(k.source);
      w.key("target"); w.string(k.target);
      w.key("format"); w.string(k.format);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_object();
}

void print_text(const std::string& path, const Dump& s, const WalkSummary& sum, const ops::InfoReport& info,
                const Error* damage) {
  std::printf("file:          %s (%llu bytes)\n", path.c_str(), static_cast<unsigned long long>(s.input_size()));
  if (const Qcow2Snapshot* sn = s.snapshot())
    std::printf("format:        qcow2 image, the VM state of snapshot %s '%s': stream v3 of %llu bytes (offsets below are in it)\n",
                printable(sn->id).c_str(), printable(sn->name).c_str(), static_cast<unsigned long long>(s.size()));
  else if (s.location().compression == Compression::none)
    std::printf("format:        %s stream v3 at offset %s\n", input_format_name(s.location().format).data(), hex(s.location().stream_offset).c_str());
  else
    std::printf("format:        %s, %.*s-compressed from offset %s: stream v3 of %llu bytes (offsets below are in it)\n",
                input_format_name(s.location().format).data(), static_cast<int>(compression_name(s.location().compression).size()),
                compression_name(s.location().compression).data(), hex(s.location().payload_offset).c_str(),
                static_cast<unsigned long long>(s.size()));
  print_container_text(s);
  if (sum.configuration) {
    const auto& c = *sum.configuration;
    std::printf("machine:       %s\n", printable(c.machine).c_str());
    std::string caps;
    for (auto cap : c.capabilities) caps += (caps.empty() ? "" : ", ") + printable(cap);
    // Only the capabilities the configuration validates are in the stream (x-ignore-shared, mapped-ram).
    std::printf("capabilities:  %s\n", caps.empty() ? "none recorded (the stream records only x-ignore-shared and mapped-ram)" : caps.c_str());
    if (c.target_page_bits) std::printf("target bits:   %u\n", *c.target_page_bits);
    if (c.uuid) std::printf("uuid:          %s\n", uuid_text(*c.uuid).c_str());
  } else {
    std::printf("machine:       (no configuration section)\n");
  }
  std::printf("page size:     %llu (from %s)\n", static_cast<unsigned long long>(sum.page_size), sum.page_size_source);
  std::printf("footers:       %s\n", sum.footers ? "yes" : "no");
  if (sum.trailer_offset)
    std::printf("vmdesc:        trailer at %s, %llu bytes, %zu devices\n", hex(*sum.trailer_offset).c_str(),
                static_cast<unsigned long long>(sum.trailer_length), s.device_count());
  else
    std::printf("vmdesc:        %s\n", s.vmdesc() ? "from --vmdesc file" : "none");
  if (sum.eof_offset) std::printf("EOF:           at %s\n", hex(*sum.eof_offset).c_str());
  if (damage) std::printf("STOPPED:       %s\n", damage->message().c_str());

  std::printf("\ncommands: %zu\n", info.commands.size());
  for (const auto& c : info.commands)
    std::printf("  %10s  %s%-22.*s len %-5u %s\n", hex(c.offset).c_str(), c.depth ? "  (packaged) " : "",
                static_cast<int>(wire::command_name(c.cmd).size()), wire::command_name(c.cmd).data(), c.length,
                c.detail.c_str());

  std::printf("\nsections: %zu\n", info.sections.size());
  std::printf("  %10s  %-8s %5s  %-40s %4s %4s  %-18s %10s\n", "offset", "type", "id", "name", "inst", "ver", "kind", "size");
  for (const auto& r : info.sections) {
    std::string_view t = wire::section_type_name(r.type);
    if (t.rfind("SECTION_", 0) == 0) t.remove_prefix(8);
    std::string kind(section_kind_name(r.kind));
    if (r.kind == SectionKind::device && !r.decoded) kind += " (raw)";
    if (r.depth) kind += " [pkg]";
    bool full_header = r.type == wire::kSectionStart || r.type == wire::kSectionFull;
    std::printf("  %10s  %-8.*s %5u  %-40s %4s %4s  %-18s %10llu\n", hex(r.offset).c_str(), static_cast<int>(t.size()),
                t.data(), r.id, printable(r.idstr).c_str(), full_header ? std::to_string(r.instance_id).c_str() : "",
                full_header ? std::to_string(r.version_id).c_str() : "", kind.c_str(),
                static_cast<unsigned long long>(r.size));
  }

  std::printf("\nRAM blocks: %zu\n", sum.ram_blocks.size());
  if (!sum.ram_blocks.empty())
    std::printf("  %-32s %18s %10s %10s %10s %10s %10s\n", "block", "length", "zero", "page", "xbzrle", "compressed", "mapped");
  for (std::size_t i = 0; i < sum.ram_blocks.size(); ++i) {
    const auto& b = sum.ram_blocks[i];
    BlockPageStats st = i < info.block_stats.size() ? info.block_stats[i] : BlockPageStats{};
    std::printf("  %-32s %18s %10llu %10llu %10llu %10llu %10llu", printable(b.name).c_str(),
                hex(b.length).c_str(), static_cast<unsigned long long>(st.records[0]),
                static_cast<unsigned long long>(st.records[1]), static_cast<unsigned long long>(st.records[2]),
                static_cast<unsigned long long>(st.records[3]), static_cast<unsigned long long>(st.records[4]));
    if (b.guest_addr) std::printf("  gpa %s", hex(*b.guest_addr).c_str());
    if (b.page_size) std::printf("  page size %llu", static_cast<unsigned long long>(b.page_size));
    if (st.nonzero_fill) std::printf("  %llu zero records with non-zero fill", static_cast<unsigned long long>(st.nonzero_fill));
    std::printf("\n");
  }
  std::printf("\n");
  if (info.layout) {
    print_guest_map(stdout, *info.layout);
    for (const UnplacedBlock& b : info.layout->unplaced)
      std::printf("  not in the map: %s (%s bytes): %s\n", printable(b.block).c_str(), hex(b.length).c_str(), b.reason.c_str());
    for (const std::string& n : info.layout->notes) std::printf("  note: %s\n", n.c_str());
  } else if (!info.layout_error.empty()) {
    std::printf("guest-physical map: unknown (%s)\n", info.layout_error.c_str());
  }
}

void print_json(const std::string& path, const Dump& s, const WalkSummary& sum, const ops::InfoReport& info,
                const Error* damage) {
  json::OutBuffer out(stdout);
  json::PyWriter w(out);
  w.start_object();
  w.key("file"); w.string(path);
  w.key("size"); w.uint64(s.input_size());
  w.key("format"); w.string(input_format_name(s.location().format).data());
  w.key("stream_offset"); w.uint64(s.location().stream_offset);
  write_container_json(w, s);
  w.key("configuration");
  if (sum.configuration) {
    const auto& c = *sum.configuration;
    w.start_object();
    w.key("offset"); w.uint64(c.offset);
    w.key("machine"); w.string(c.machine);
    w.key("capabilities"); w.start_array();
    for (auto cap : c.capabilities) w.string(cap);
    w.end_array();
    if (c.target_page_bits) { w.key("target_page_bits"); w.uint64(*c.target_page_bits); }
    if (c.uuid) { w.key("uuid"); w.string(uuid_text(*c.uuid)); }
    w.end_object();
  } else {
    w.null();
  }
  w.key("guest_physical");
  if (info.layout) {
    const GuestLayout& L = *info.layout;
    w.start_object();
    w.key("arch"); w.string(guest_arch_name(L.arch));
    w.key("family"); w.string(L.family);
    w.key("machine"); w.string(L.machine);
    w.key("main_block"); w.string(L.main_block);
    if (L.arch == GuestArch::x86_64) {
      w.key("below_4g"); w.uint64(L.below_4g);
      w.key("above_4g"); w.uint64(L.above_4g);
      w.key("above_4g_start"); w.uint64(L.above_4g_start);
      w.key("split_source"); w.string(L.split_source);
    }
    w.key("ranges"); w.start_array();
    for (const GuestRange& r : L.ranges) {
      w.start_object();
      w.key("paddr"); w.uint64(r.paddr);
      w.key("length"); w.uint64(r.length);
      w.key("block"); w.string(r.block);
      w.key("block_offset"); w.uint64(r.block_offset);
      w.end_object();
    }
    w.end_array();
    w.key("unplaced"); w.start_array();
    for (const UnplacedBlock& b : L.unplaced) {
      w.start_object();
      w.key("block"); w.string(b.block);
      w.key("length"); w.uint64(b.length);
      w.key("reason"); w.string(b.reason);
      w.end_object();
    }
    w.end_array();
    w.key("notes"); w.start_array();
    for (const std::string& n : L.notes) w.string(n);
    w.end_array();
    w.end_object();
  } else {
    w.null();
    if (!info.layout_error.empty()) { w.key("guest_physical_error"); w.string(info.layout_error); }
  }
  w.key("page_size"); w.uint64(sum.page_size);
  w.key("page_size_source"); w.string(sum.page_size_source);
  w.key("footers"); w.boolean(sum.footers);
  w.key("eof_offset"); if (sum.eof_offset) w.uint64(*sum.eof_offset); else w.null();
  w.key("vmdesc");
  w.start_object();
  w.key("source"); w.string(sum.trailer_offset ? (s.vmdesc_from_file() ? "file" : "trailer") : (s.vmdesc() ? "file" : "none"));
  if (sum.trailer_offset) { w.key("trailer_offset"); w.uint64(*sum.trailer_offset); w.key("trailer_length"); w.uint64(sum.trailer_length); }
  w.key("devices"); w.uint64(s.device_count());
  w.end_object();
  w.key("commands"); w.start_array();
  for (const auto& c : info.commands) {
    w.start_object();
    w.key("offset"); w.uint64(c.offset);
    w.key("command"); w.string(wire::command_name(c.cmd));
    w.key("length"); w.uint64(c.length);
    w.key("packaged"); w.boolean(c.depth > 0);
    if (!c.detail.empty()) { w.key("detail"); w.string(c.detail); }
    w.end_object();
  }
  w.end_array();
  w.key("sections"); w.start_array();
  for (const auto& r : info.sections) {
    w.start_object();
    w.key("offset"); w.uint64(r.offset);
    w.key("type"); w.string(wire::section_type_name(r.type));
    w.key("id"); w.uint64(r.id);
    w.key("name"); w.string(r.idstr);
    w.key("instance_id"); w.uint64(r.instance_id);
    w.key("version_id"); w.uint64(r.version_id);
    w.key("kind"); w.string(section_kind_name(r.kind));
    w.key("size"); w.uint64(r.size);
    w.key("body_size"); w.uint64(r.body_size);
    w.key("footer"); w.boolean(r.has_footer);
    if (r.kind == SectionKind::device) { w.key("decoded"); w.boolean(r.decoded); }
    if (r.depth) { w.key("packaged"); w.boolean(true); }
    w.end_object();
  }
  w.end_array();
  w.key("ram_blocks"); w.start_array();
  for (std::size_t i = 0; i < sum.ram_blocks.size(); ++i) {
    const auto& b = sum.ram_blocks[i];
    BlockPageStats st = i < info.block_stats.size() ? info.block_stats[i] : BlockPageStats{};
    w.start_object();
    w.key("name"); w.string(b.name);
    w.key("length"); w.uint64(b.length);
    if (b.guest_addr) { w.key("guest_addr"); w.uint64(*b.guest_addr); }
    if (b.page_size) { w.key("page_size"); w.uint64(b.page_size); }
    if (b.mapped_ram) { w.key("bitmap_offset"); w.uint64(b.bitmap_offset); w.key("pages_offset"); w.uint64(b.pages_offset); }
    w.key("records"); w.start_object();
    for (std::size_t k = 0; k < kPageKinds; ++k) { w.key(page_kind_name(static_cast<PageKind>(k))); w.uint64(st.records[k]); }
    w.end_object();
    w.key("payload_bytes"); w.uint64(st.payload_bytes);
    w.key("zero_nonzero_fill"); w.uint64(st.nonzero_fill);
    w.end_object();
  }
  w.end_array();
  w.key("error");
  if (damage) {
    w.start_object();
    w.key("offset"); if (damage->has_offset()) w.uint64(damage->offset); else w.null();
    w.key("code"); w.string(error_code_name(damage->code));
    w.key("message"); w.string(damage->message());
    w.end_object();
  } else {
    w.null();
  }
  w.key("warnings"); w.start_array();
  for (const auto& wn : sum.warnings) {
    w.start_object(); w.key("offset"); w.uint64(wn.offset); w.key("text"); w.string(wn.text); w.end_object();
  }
  w.end_array();
  w.end_object();
  w.end_document();
}

}  // namespace

int cmd_info(int argc, char** argv) {
  const std::string prog = "migscope info";
  std::string file, vmdesc_file, snapshot;
  bool as_json = false, keep_going = false, domain_xml = false;
  po::options_description opts("usage: migscope info FILE [options]\n\nFormat, machine, capabilities, every section with "
                               "offset and size, RAM blocks with page records by kind.\n\nexample: migscope info saved.mig   (or a libvirt save, x.mig.xz, disk.qcow2 --snapshot 1)\n\noptions");
  opts.add_options()("help,h", "show this help")("json", po::bool_switch(&as_json), "print JSON instead of text")
      ("vmdesc", po::value(&vmdesc_file)->value_name("FILE"), "read the device description from this JSON file")
      ("snapshot", po::value(&snapshot)->value_name("ID"), "qcow2 image: the internal snapshot (id or name) whose VM state to read (default: the only one with a VM state)")
      ("keep-going", po::bool_switch(&keep_going), "on damaged input, report what was read before the damage")
      ("domain-xml", po::bool_switch(&domain_xml), "print the domain XML of a libvirt save image, as saved, and nothing else");
  if (auto done = parse_command_line(argc, argv, prog, opts, file)) return *done;
  auto dump = Dump::open(file, open_options(vmdesc_file, snapshot));
  if (!dump.ok()) return report_error(prog, file, dump.error());
  if (domain_xml) {
    const LibvirtHeader* h = dump->libvirt();
    if (!h) return report_error(prog, file, make_error(ErrorCode::usage, Error::no_offset, "not a libvirt save image: it has no domain XML"));
    std::fwrite(h->xml.data(), 1, h->xml.size(), stdout);
    if (h->xml.empty() || h->xml.back() != '\n') std::fputc('\n', stdout);
    return std::fflush(stdout) == 0 && !std::ferror(stdout) ? exit_ok : exit_io;
  }
  ops::InfoOptions options;
  options.helper_threads = all_cores();  // mapping work off the walk
  std::optional<ProgressMeter> meter(std::in_place, std::vector<const Dump*>{&*dump}, "migscope info");
  ops::InfoReport info = ops::info(*dump, options);
  meter.reset();
  if (info.damage && !keep_going) return report_error(prog, file, *info.damage);
  if (info.damage && info.damage->remedy == Remedy::keep_going) info.damage->remedy = Remedy::none;  // given
  const WalkSummary& sum = info.summary;
  const Error* damage = info.damage ? &*info.damage : nullptr;
  const Dump& s = *dump;
  if (as_json) print_json(file, s, sum, info, damage);
  else print_text(file, s, sum, info, damage);
  std::fflush(stdout);
  report_warnings(prog, file, sum);
  if (damage) return report_error(prog, file, *damage);
  return std::ferror(stdout) ? exit_io : exit_ok;
}

}  // namespace migscope::tools
