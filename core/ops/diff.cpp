// diff: each side read in one pipeline like hash (pass 1: the page index, the
// in-order hasher and the state JSON in one walk; pass 2: the other blocks'
// pages hashed from the index), the two sides on their own threads; then the
// state documents compared field by field (compat/state_diff) and the page
// hashes page by page.
#include <cstring>
#include <thread>

#include <xxhash.h>

#include "compat/state_diff.h"
#include "json/py_writer.h"
#include "migscope/ops.h"
#include "ops/incomplete_save.h"
#include "ram/page_index.h"
#include "sinks/inorder_hasher.h"
#include "sinks/page_hasher.h"
#include "sinks/state_json.h"
#include "stream/format.h"
#include "stream/open.h"
#include "vmdesc/vmdesc.h"

namespace migscope::ops {

namespace {

// Sections as the walk saw them, under the key the state JSON gives them.
class SectionKeys : public StreamVisitor {
 public:
  Status on_section(const SectionEvent& ev) override {
    if (ev.type != wire::kSectionStart && ev.type != wire::kSectionFull) return {};
    compat::StateSection s;
    s.idstr.assign(ev.info->idstr);
    s.key = s.idstr + " (" + std::to_string(ev.info->id) + ")";
    s.instance = ev.info->instance_id;
    s.version = ev.info->version_id;
    sections.push_back(std::move(s));
    return {};
  }
  std::vector<compat::StateSection> sections;
};

// Every page's final content, canonically: 0 for all zeros or not sent, else its XXH3-64.
class PageHashes : public PageHashListener {
 public:
  explicit PageHashes(const PageIndex& index) {
    const std::uint64_t ps = index.page_size();
    std::vector<std::byte> zeros(ps);
    zero_hash_ = XXH3_64bits(zeros.data(), zeros.size());
    pages.resize(index.block_count());
    for (std::size_t i = 0; i < pages.size(); ++i) {
      const std::uint64_t len = index.block(i).length;
      pages[i].assign(len / ps + (len % ps ? 1 : 0), 0);
    }
  }
  void page(std::size_t block, std::uint64_t page, std::uint64_t xxh3, bool zero_record) override {
    if (zero_record || xxh3 == zero_hash_) return;
    pages[block][page] = xxh3 == 0 ? 1 : xxh3;  // (0 is taken by zeros)
  }
  std::vector<std::vector<std::uint64_t>> pages;

 private:
  std::uint64_t zero_hash_ = 0;
};

struct Side {
  std::string name;
  bool is_state = false;
  std::string state;  // the state JSON
  std::vector<compat::StateSection> sections;
  WalkSummary summary;
  std::vector<BlockHashSummary> blocks;
  std::vector<std::vector<std::uint64_t>> pages;
  bool has_vmdesc = false;
  std::string vmdesc_json;
};

Status read_dump(const Dump& dump, unsigned threads, Side& side) {
  if (auto refused = refuse_incomplete_save(dump, /*can_keep_going=*/false)) return *refused;
  MIGSCOPE_ASSIGN(const Bytes file, dump.stream().prepare(/*read_once=*/true));
  PageIndex index(file);
  InOrderHasher first_pass(file, threads > 1, /*release_behind=*/dump.stream().releasable(true));
  {
    json::OutBuffer state_out(&side.state);
    json::PyWriter w(state_out);
    StateJsonSink state(w);
    SectionKeys keys;
    StreamFanout pass1({&index, &first_pass, &state, &keys});
    WalkOptions once;
    once.read_once = true;
    state.begin();
    auto summary = dump.walk(pass1, once);
    MIGSCOPE_TRY(first_pass.finish());
    if (!summary.ok()) return std::move(summary).error();
    state.finish();
    side.summary = std::move(summary).value();
    side.sections = std::move(keys.sections);
  }
  bool all_hashed = true;
  for (std::size_t i = 0; i < side.summary.ram_blocks.size(); ++i) all_hashed = all_hashed && first_pass.complete(i);
  Bytes all = file;
  if (!all_hashed && dump.stream().streamed()) {
    MIGSCOPE_ASSIGN(all, dump.random_access());
  }
  PageHashes hashes(index);
  std::string summary_lines;
  json::OutBuffer discard(&summary_lines);
  PageHashOptions pass2;
  pass2.threads = threads;
  pass2.release_behind = true;
  pass2.whole_hash_budget = 0;  // no whole-block digest: diff compares pages
  pass2.listener = &hashes;
  MIGSCOPE_ASSIGN(side.blocks, hash_pages(all, index, pass2, discard, &first_pass));
  side.pages = std::move(hashes.pages);
  if (const auto& v = dump.stream().vmdesc) {
    side.has_vmdesc = true;
    side.vmdesc_json = v->text();
  }
  return {};
}

void compare_blocks(const Side& a, const Side& b, const DiffOptions& options, diff::DiffReport& report) {
  const std::uint64_t ps = report.page_size;
  auto fill = [&](diff::SidePages& s, const BlockHashSummary& h) {
    s.present = true;
    s.length = h.length;
    s.pages_sent = h.pages_sent;
    s.zero_pages = h.zero_pages;
    s.data_pages = h.pages_sent - h.zero_pages;
  };
  static const std::vector<std::uint64_t> none;
  auto compare = [&](diff::BlockDiff& d, const std::vector<std::uint64_t>& pa, const std::vector<std::uint64_t>& pb) {
    const std::size_t n = std::max(pa.size(), pb.size());
    diff::PageRange open{};
    bool in_range = false;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t ha = i < pa.size() ? pa[i] : 0, hb = i < pb.size() ? pb[i] : 0;
      if (ha == hb) {
        if (in_range) d.ranges.push_back(open), in_range = false;
        continue;
      }
      ++d.pages_differ;
      if (options.pages) d.pages.push_back({i * ps, ha, hb});
      if (!in_range) open = {i * ps, i * ps, 0}, in_range = true;
      open.end = (i + 1) * ps;
      ++open.pages;
    }
    if (in_range) d.ranges.push_back(open);
  };
  std::vector<bool> used(b.blocks.size(), false);
  for (std::size_t i = 0; i < a.blocks.size(); ++i) {
    diff::BlockDiff d;
    d.name = a.blocks[i].name;
    fill(d.a, a.blocks[i]);
    std::size_t j = 0;
    while (j < b.blocks.size() && (used[j] || b.blocks[j].name != d.name)) ++j;
    if (j < b.blocks.size()) {
      used[j] = true;
      fill(d.b, b.blocks[j]);
      compare(d, a.pages[i], b.pages[j]);
    } else {
      compare(d, a.pages[i], none);
    }
    report.blocks.push_back(std::move(d));
  }
  for (std::size_t j = 0; j < b.blocks.size(); ++j) {
    if (used[j]) continue;
    diff::BlockDiff d;
    d.name = b.blocks[j].name;
    fill(d.b, b.blocks[j]);
    compare(d, none, b.pages[j]);
    report.blocks.push_back(std::move(d));
  }
}

}  // namespace

bool looks_like_state_json(const std::string& path) {
  if (path == "-") return false;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  int c;
  while ((c = std::fgetc(f)) != EOF && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
  }
  std::fclose(f);
  return c == '{';
}

Result<diff::DiffReport> diff(const DiffInput& a, const DiffInput& b, const DiffOptions& options, std::string* failed) {
  Side sa, sb;
  sa.name = a.name;
  sb.name = b.name;
  Status ra, rb;
  auto read = [&options](const DiffInput& in, Side& side) -> Status {
    if (in.dump) return read_dump(*in.dump, options.threads == 0 ? 1 : options.threads, side);
    side.is_state = true;
    side.state = in.state_json;
    return {};
  };
  if (options.parallel && a.dump && b.dump) {
    std::thread other([&] { rb = read(b, sb); });
    ra = read(a, sa);
    other.join();
  } else {
    ra = read(a, sa);
    if (ra.ok()) rb = read(b, sb);
  }
  if (!ra.ok()) {
    if (failed) *failed = a.name;
    return std::move(ra).error();
  }
  if (!rb.ok()) {
    if (failed) *failed = b.name;
    return std::move(rb).error();
  }

  diff::DiffReport report;
  report.a_name = a.name;
  report.b_name = b.name;
  report.a_is_state = sa.is_state;
  report.b_is_state = sb.is_state;

  // The descriptions first: when they differ, values may not be comparable.
  if (!sa.is_state && !sb.is_state) {
    report.descriptions_compared = true;
    if (sa.has_vmdesc != sb.has_vmdesc) {
      report.descriptions_differ = true;
      report.description_notes.push_back(std::string("only ") + (sa.has_vmdesc ? "A" : "B") + " has a description (vmdesc)");
    } else if (sa.vmdesc_json != sb.vmdesc_json) {
      report.descriptions_differ = true;
      auto check = compat::compare_vmdesc(sa.vmdesc_json, sb.vmdesc_json, compat::RenameTable{});
      if (check.ok())
        for (const auto& f : check->findings) report.description_notes.push_back(f.message);
      if (report.description_notes.empty())
        report.description_notes.push_back("the two vmdesc trailers differ, in nothing the vmstate checker reports");
    }
  }

  compat::StateDiffOptions state_options;
  state_options.ignores = options.ignores;
  if (options.default_ignores)
    state_options.ignores.insert(state_options.ignores.end(), diff::default_ignores().begin(), diff::default_ignores().end());
  state_options.skip_ram = !sa.is_state && !sb.is_state;
  compat::StateDocument da{sa.state, a.name, std::move(sa.sections)};
  compat::StateDocument db{sb.state, b.name, std::move(sb.sections)};
  auto states = compat::diff_states(da, db, state_options);
  if (!states.ok()) {
    if (failed) *failed = states.error().detail.rfind(b.name + ":", 0) == 0 && a.name != b.name ? b.name : a.name;
    return std::move(states).error();
  }
  report.differences = std::move(states->differences);
  report.ignored = states->ignored;
  report.sections_a = states->sections_a;
  report.sections_b = states->sections_b;
  report.sections_matched = states->matched;

  if (sa.is_state || sb.is_state) {
    report.ram_note = "a state document holds no RAM";
    return report;
  }
  report.page_size = sa.summary.page_size;
  if (sa.summary.page_size != sb.summary.page_size) {
    report.ram_note = "the page sizes differ (" + std::to_string(sa.summary.page_size) + " and " +
                      std::to_string(sb.summary.page_size) + " bytes)";
    return report;
  }
  report.ram_compared = true;
  compare_blocks(sa, sb, options, report);
  return report;
}

}  // namespace migscope::ops
