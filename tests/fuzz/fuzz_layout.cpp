// libFuzzer target: the guest-physical map of `vmcore`, `info --map` and
// `extract --map` (core/guest/layout.cpp compute_layout), from machine facts
// and layout overrides (what --machine, --below-4g, --above-4g-start and
// --place give) written as text, one item a line:
//   machine NAME               the configuration section's machine type
//   block NAME LENGTH          a RAM block (LENGTH: C integer syntax, 0x...)
//   section IDSTR              a device section seen
//   cmos HEX                   the RTC CMOS (128 bytes, zero-padded)
//   pci PATH DEVICE HEX        a PCI function's config space
//   cpu FIELD [HEX]            a field of the current CPU ("cpu-next" starts another)
//   device-state               device state was decoded
//   set-machine NAME | below N | above-start N | place NAME ADDR   overrides
// (names end at a space or the end of the line). The map must be well formed:
// ranges ascending, not overlapping, not empty, each inside its block (what
// vmcore turns into PT_LOAD segments and reads); every block either mapped or
// listed as unplaced, not both; the x86 split adding up to the main block;
// the same map twice. Errors must be clean values (fuzz_common.h).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "guest/layout.h"

namespace {

using namespace migscope;

constexpr std::size_t kMaxBlocks = 64, kMaxPci = 32, kMaxPlace = 16, kMaxSections = 64, kMaxCpus = 8, kMaxFields = 64;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

std::uint64_t number(std::string_view t) {
  // C syntax (0x.., 0.., decimal), saturating, stops at the first other byte.
  unsigned base = 10;
  std::size_t i = 0;
  if (t.size() > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) base = 16, i = 2;
  else if (t.size() > 1 && t[0] == '0') base = 8, i = 1;
  std::uint64_t v = 0;
  for (; i < t.size(); ++i) {
    const char c = t[i];
    unsigned d = c >= '0' && c <= '9' ? static_cast<unsigned>(c - '0')
                 : c >= 'a' && c <= 'f' ? static_cast<unsigned>(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? static_cast<unsigned>(c - 'A' + 10)
                                        : 99;
    if (d >= base) break;
    if (v > (UINT64_MAX - d) / base) return UINT64_MAX;
    v = v * base + d;
  }
  return v;
}

std::vector<std::uint8_t> hex_bytes(std::string_view t, std::size_t max) {
  std::vector<std::uint8_t> out;
  auto nib = [](char c) -> int {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  for (std::size_t i = 0; i + 1 < t.size() && out.size() < max; i += 2) {
    const int hi = nib(t[i]), lo = nib(t[i + 1]);
    if (hi < 0 || lo < 0) break;
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

// The next space-separated token of `line` from `at`.
std::string_view token(std::string_view line, std::size_t& at) {
  while (at < line.size() && line[at] == ' ') ++at;
  const std::size_t start = at;
  while (at < line.size() && line[at] != ' ') ++at;
  return line.substr(start, at - start);
}

struct Parsed {
  guest::MachineFacts facts;
  LayoutOverrides overrides;
  std::vector<std::uint64_t> lengths;
};

Parsed parse(std::string_view in) {
  Parsed p;
  for (std::size_t at = 0; at < in.size();) {
    std::size_t nl = in.find('\n', at);
    if (nl == std::string_view::npos) nl = in.size();
    const std::string_view line = in.substr(at, nl - at);
    at = nl + 1;
    std::size_t i = 0;
    const std::string_view kw = token(line, i);
    const std::string_view a = token(line, i);
    const std::string_view b = token(line, i);
    const std::string_view c = token(line, i);
    if (kw == "machine") p.facts.machine = std::string(a);
    else if (kw == "block" && p.facts.block_names.size() < kMaxBlocks) {
      p.facts.block_names.emplace_back(a);
      p.lengths.push_back(number(b));
    } else if (kw == "section" && p.facts.sections.size() < kMaxSections) p.facts.sections.emplace_back(a);
    else if (kw == "cmos") {
      std::array<std::uint8_t, 128> cmos{};
      const auto bytes = hex_bytes(a, cmos.size());
      for (std::size_t k = 0; k < bytes.size(); ++k) cmos[k] = bytes[k];
      p.facts.cmos = cmos;
    } else if (kw == "pci" && p.facts.pci.size() < kMaxPci) {
      p.facts.pci.push_back({std::string(a), std::string(b), hex_bytes(c, 4096)});
    } else if (kw == "cpu-next" && p.facts.cpus.size() < kMaxCpus) {
      p.facts.cpus.emplace_back();
      p.facts.cpus.back().idstr = "cpu";
      p.facts.cpus.back().instance_id = static_cast<std::uint32_t>(p.facts.cpus.size() - 1);
    } else if (kw == "cpu") {
      if (p.facts.cpus.empty()) p.facts.cpus.push_back({"cpu", 0, {}});
      auto& fields = p.facts.cpus.back().fields;
      if (fields.size() < kMaxFields) {
        std::vector<std::byte> raw;
        for (std::uint8_t x : hex_bytes(b, 64)) raw.push_back(std::byte{x});
        fields.emplace_back(std::string(a), std::move(raw));
      }
    } else if (kw == "device-state") p.facts.have_device_state = true;
    else if (kw == "set-machine") p.overrides.machine = std::string(a);
    else if (kw == "below") p.overrides.below_4g = number(a);
    else if (kw == "above-start") p.overrides.above_4g_start = number(a);
    else if (kw == "place" && p.overrides.place.size() < kMaxPlace) p.overrides.place.emplace_back(std::string(a), number(b));
  }
  // The blocks name their entries of block_names (filled first: no reallocation after).
  for (std::size_t k = 0; k < p.lengths.size(); ++k) {
    RamBlock rb;
    rb.name = p.facts.block_names[k];
    rb.length = p.lengths[k];
    rb.target_page_size = 4096;
    p.facts.blocks.push_back(rb);
  }
  return p;
}

bool same_map(const GuestLayout& x, const GuestLayout& y) {
  if (x.ranges.size() != y.ranges.size() || x.unplaced.size() != y.unplaced.size() || x.below_4g != y.below_4g ||
      x.above_4g != y.above_4g || x.above_4g_start != y.above_4g_start || x.family != y.family || x.arch != y.arch ||
      x.main_block != y.main_block || x.notes != y.notes)
    return false;
  for (std::size_t i = 0; i < x.ranges.size(); ++i) {
    const GuestRange &r = x.ranges[i], &s = y.ranges[i];
    if (r.paddr != s.paddr || r.length != s.length || r.block_index != s.block_index || r.block_offset != s.block_offset)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Parsed p = parse(std::string_view(reinterpret_cast<const char*>(data), size));
  const guest::MachineFacts& facts = p.facts;
  auto layout = guest::compute_layout(facts, p.overrides);
  if (!layout.ok()) {
    // corrupt: blocks too large for the address space (the stream's sizes
    // cause it); the map is made from facts, so no error carries an offset.
    fuzz::check_error(layout.error(), size, {ErrorCode::unsupported, ErrorCode::usage, ErrorCode::corrupt});
    if (layout.error().has_offset()) fuzz::fail("a layout error with an offset", layout.error());
    return 0;
  }
  const GuestLayout& L = *layout;
  const std::size_t nblocks = facts.block_names.size();
  std::vector<bool> visible(nblocks, false);
  std::uint64_t prev_end = 0;
  for (std::size_t i = 0; i < L.ranges.size(); ++i) {
    const GuestRange& r = L.ranges[i];
    if (r.length == 0) {
      // regressions/layout-*-top-empty-range.bin: a block part painted at
      // 2^64 - 1 was a range of 0 bytes (an empty PT_LOAD in a vmcore); both
      // ways to get there (--place, --above-4g-start) are refused now.
      if (!fuzz::known_bug("layout-empty-range")) die("an empty range");
      if (r.block_index >= nblocks) die("a range of no block");
      visible[r.block_index] = true;
      continue;
    }
    if (r.length - 1 > UINT64_MAX - r.paddr) die("a range past the end of the address space");
    if (i > 0 && r.paddr < prev_end) die("ranges overlap or are out of order");
    prev_end = r.paddr + (r.length - 1) + 1;  // (0 after the last byte of the address space)
    if (prev_end == 0 && i + 1 < L.ranges.size()) die("a range after the end of the address space");
    if (r.block_index >= nblocks) die("a range of no block");
    if (r.block != facts.block_names[r.block_index]) die("a range names another block than its index");
    const std::uint64_t blen = facts.blocks[r.block_index].length;
    if (r.block_offset > blen || r.length > blen - r.block_offset) die("a range beyond the end of its block");
    visible[r.block_index] = true;
    if (i > 0) {
      const GuestRange& q = L.ranges[i - 1];
      if (q.block_index == r.block_index && q.paddr + q.length == r.paddr && q.block_offset + q.length == r.block_offset)
        die("adjacent parts of a block left unmerged");
    }
  }
  std::size_t hidden = 0;
  for (bool v : visible) hidden += !v;
  if (L.unplaced.size() != hidden) die("unplaced blocks do not match the blocks missing from the map");
  for (const UnplacedBlock& u : L.unplaced) {
    if (u.reason.empty()) die("an unplaced block without a reason");
    bool some_hidden = false;
    for (std::size_t k = 0; k < nblocks; ++k)
      some_hidden |= !visible[k] && facts.block_names[k] == u.block && facts.blocks[k].length == u.length;
    if (!some_hidden) die("a block listed as unplaced is in the map");
  }
  if (!L.main_block.empty()) {
    // (Block names need not be unique: one of the blocks of that name.)
    bool found = false, adds_up = false;
    for (std::size_t k = 0; k < nblocks; ++k)
      if (facts.block_names[k] == L.main_block) {
        const std::uint64_t ram = facts.blocks[k].length;
        found = true;
        adds_up |= L.below_4g <= ram && L.above_4g == ram - L.below_4g;
      }
    if (!found) die("the main block is not a block of the stream");
    if (!L.split_source.empty() && !adds_up) die("the split below and above 4 GiB does not add up to the main block");
  }
  if (L.below_4g > (std::uint64_t{4} << 30)) die("more than 4 GiB below 4 GiB");
  (void)L.end();
  auto again = guest::compute_layout(facts, p.overrides);
  if (!again.ok() || !same_map(L, *again)) die("the layout differs the second time");
  return 0;
}
