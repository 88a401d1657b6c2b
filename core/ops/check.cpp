// check: loading the documents (streams recognised by their first bytes,
// compressed documents read through, vmdesc trailers compared); the
// comparison itself is in check_compare.cpp.
#include "input/decompress.h"
#include "migscope/ops.h"
#include "ops/load_pair.h"
#include "ops/incomplete_save.h"
#include "stream/format.h"
#include "stream/open.h"
#include "vmdesc/vmdesc.h"

namespace migscope::ops {

Result<std::string> read_document(const std::string& path) {
  MIGSCOPE_ASSIGN(std::string text, compat::read_text_file(path));
  const Bytes head(reinterpret_cast<const std::byte*>(text.data()), text.size());
  const Compression kind = sniff_compression(head);
  if (kind == Compression::none) return text;
  // A compressed document (corpus/*.json.xz, a gzipped dump): read through.
  MIGSCOPE_ASSIGN(auto reader, make_decompressor(head, kind, path, 0, /*release_behind=*/false));
  constexpr std::size_t kMax = std::size_t{1} << 30;
  std::string out;
  std::vector<std::byte> buf(1 << 16);
  for (;;) {
    MIGSCOPE_ASSIGN(std::size_t n, reader->read(buf));
    if (n == 0) break;
    if (out.size() + n > kMax)
      return make_error(ErrorCode::unsupported, Error::no_offset,
                        "decompresses to more than 1 GiB: not a JSON document migscope reads");
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  return out;
}

Result<VmstateInput> load_vmstate(const std::string& path, bool lenient) {
  VmstateInput in;
  if (file_starts_like_stream(path)) {
    MIGSCOPE_ASSIGN(std::string json, read_vmdesc_json(path));
    MIGSCOPE_ASSIGN(in.dump, compat::parse_vmdesc_in_place(json));
    in.from_stream = true;
    return in;
  }
  MIGSCOPE_ASSIGN(std::string text, read_document(path));
  compat::ParseLimits limits;
  limits.lenient = lenient;
  MIGSCOPE_ASSIGN(in.dump, compat::parse_vmstate_any_in_place(text, limits));
  return in;
}

Result<compat::VmstateDump> load_vmstate_dump(const std::string& path, bool lenient) {
  MIGSCOPE_ASSIGN(std::string text, read_document(path));
  compat::ParseLimits limits;
  limits.lenient = lenient;
  return compat::parse_vmstate_dump_in_place(text, limits);
}

std::pair<Result<VmstateInput>, Result<VmstateInput>> load_vmstate_pair(const std::string& first,
                                                                       const std::string& second, bool lenient) {
  return detail::load_both(first, second, [lenient](const std::string& p) { return load_vmstate(p, lenient); });
}

std::pair<Result<compat::VmstateDump>, Result<compat::VmstateDump>> load_vmstate_dump_pair(const std::string& first,
                                                                                         const std::string& second,
                                                                                         bool lenient) {
  return detail::load_both(first, second, [lenient](const std::string& p) { return load_vmstate_dump(p, lenient); });
}

}  // namespace migscope::ops

namespace migscope::ops {

namespace {

class LoadFactsCollector : public StreamVisitor {
 public:
  explicit LoadFactsCollector(compat::LoadFacts& f) : f_(f) {}
  Status on_configuration(const Configuration& c) override {
    f_.has_configuration = true;
    f_.configuration_offset = c.offset;
    f_.machine.assign(c.machine);
    f_.target_page_bits = c.target_page_bits;
    for (auto cap : c.capabilities) f_.capabilities.emplace_back(cap);
    if (c.uuid) f_.uuid = uuid_text(*c.uuid);
    return {};
  }
  Status on_command(const Command& c) override {
    f_.commands.push_back({c.offset, c.cmd, static_cast<std::uint16_t>(c.payload.size())});
    return {};
  }
  Status on_section(const SectionEvent& ev) override {
    if (ev.type != wire::kSectionStart && ev.type != wire::kSectionFull) return {};
    compat::LoadFacts::Section s;
    s.offset = ev.offset;
    s.end = ev.end;
    s.idstr.assign(ev.info->idstr);
    s.instance = ev.info->instance_id;
    s.version = ev.info->version_id;
    s.has_footer = ev.has_footer;
    s.device = ev.info->kind == SectionKind::device;
    f_.sections.push_back(std::move(s));
    return {};
  }
  Status on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) override {
    f_.blocks.clear();
    for (const auto& b : blocks) f_.blocks.push_back({b.header_offset, std::string(b.name), b.length});
    return {};
  }
  Status on_pages(std::span<const RamBlock>, std::span<const PageRecord> pages) override {
    if (f_.first_compressed_page && f_.first_xbzrle_page) return {};
    for (const auto& p : pages) {
      if (p.kind == PageKind::compressed && !f_.first_compressed_page) f_.first_compressed_page = p.file_offset;
      if (p.kind == PageKind::xbzrle && !f_.first_xbzrle_page) f_.first_xbzrle_page = p.file_offset;
    }
    return {};
  }

 private:
  compat::LoadFacts& f_;
};

}  // namespace

Result<compat::LoadFacts> load_facts(const Dump& dump) {
  if (auto refused = refuse_incomplete_save(dump, /*can_keep_going=*/false)) return *refused;
  compat::LoadFacts facts;
  LoadFactsCollector collector(facts);
  WalkOptions once;
  once.read_once = true;
  once.release_behind = true;  // a Dump is a read-only mapping: keep the resident set small
  MIGSCOPE_ASSIGN(WalkSummary summary, dump.walk(collector, once));
  facts.footers = summary.footers;
  if (const auto& v = dump.stream().vmdesc) facts.vmdesc_json = v->text();
  return facts;
}

}  // namespace migscope::ops
