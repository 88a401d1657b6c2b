// vmcore: guest-physical memory for crash, gdb, Volatility.
//
// ELF: one pass. Each RAM block is written, as its pages arrive, to a region
// of its own after a reserved header area (block i at base[i]); a PT_LOAD
// points at the part of a block that a guest-physical range shows, so the
// map, known only once the device state is read at the end, needs no moving
// of data. Parts no PT_LOAD shows are punched out at the end.
// Raw: a first read-once pass learns the map, the second writes each page
// at its address (a block byte shown twice, like the BIOS at 0xe0000 and
// below 4 GiB, is copied once the pass is done).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "guest/cpu_notes.h"
#include "guest/elf_core.h"
#include "guest/layout.h"
#include "guest/machine_facts.h"
#include "migscope/ops.h"
#include "ops/incomplete_save.h"
#include "ram/page_index.h"
#include "sinks/extractor.h"
#include "sinks/output_dir.h"
#include "stream/open.h"

namespace migscope::ops {

namespace {

constexpr std::uint64_t kHeaderReserve = 4u << 20;  // ELF header, phdrs, notes: ~5000 x86 CPUs
constexpr std::uint64_t kBlockAlign = 2u << 20;

std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

Error io_error(const std::string& what, const std::string& path) {
  return make_error(ErrorCode::io, Error::no_offset, what + " " + path + ": " + std::strerror(errno));
}

// ELF: block i at base[i], nothing dropped.
class ElfTarget : public PageTarget {
 public:
  ElfTarget(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  Result<BlockTarget> open_block(const RamBlock& block, ExtractedBlock& record) override {
    record.relative_path = name_;
    BlockTarget t;
    t.fd = fd_;
    t.name = name_;
    if (block.length > (~std::uint64_t{0} >> 2) - next_)
      return make_error(ErrorCode::corrupt, block.header_offset, "RAM block '" + record.name + "' is too large to place");
    t.pieces.push_back({0, block.length, next_, false});
    bases_.push_back(next_);
    next_ = align_up(next_ + block.length, kBlockAlign);
    return t;
  }
  const std::vector<std::uint64_t>& bases() const noexcept { return bases_; }

 private:
  int fd_;
  std::string name_;
  std::uint64_t next_ = kHeaderReserve;
  std::vector<std::uint64_t> bases_;
};

struct CopyJob {
  std::uint64_t from, to, length;
};

// Raw: each block's pieces at their guest-physical addresses, from a known map.
class RawTarget : public PageTarget {
 public:
  RawTarget(int fd, std::string name, const GuestLayout& layout) : fd_(fd), name_(std::move(name)), layout_(layout) {}
  Result<BlockTarget> open_block(const RamBlock& block, ExtractedBlock& record) override {
    record.relative_path = name_;
    const auto index = static_cast<std::uint32_t>(seen_++);
    BlockTarget t;
    t.fd = fd_;
    t.name = name_;
    std::vector<const GuestRange*> mine;
    for (const GuestRange& r : layout_.ranges)
      if (r.block_index == index) mine.push_back(&r);
    std::sort(mine.begin(), mine.end(), [](auto* a, auto* b) { return a->block_offset < b->block_offset; });
    std::uint64_t at = 0;
    for (const GuestRange* r : mine) {
      const std::uint64_t begin = r->block_offset, end = r->block_offset + r->length;
      if (end <= at) {  // shown already: copy it there afterwards
        copy_from(t, begin, end, r->paddr);
        continue;
      }
      if (begin < at) {
        copy_from(t, begin, at, r->paddr);
        t.pieces.push_back({at, end, r->paddr + (at - begin), false});
      } else {
        if (begin > at) t.pieces.push_back({at, begin, 0, true});
        t.pieces.push_back({begin, end, r->paddr, false});
      }
      at = end;
    }
    if (at < block.length) t.pieces.push_back({at, block.length, 0, true});
    return t;
  }
  const std::vector<CopyJob>& copies() const noexcept { return copies_; }

 private:
  void copy_from(const BlockTarget& t, std::uint64_t begin, std::uint64_t end, std::uint64_t paddr) {
    for (const BlockTarget::Piece& p : t.pieces) {
      if (p.dropped) continue;
      const std::uint64_t s = std::max(begin, p.begin), e = std::min(end, p.end);
      if (s < e) copies_.push_back({p.file_offset + (s - p.begin), paddr + (s - begin), e - s});
    }
  }
  int fd_;
  std::string name_;
  const GuestLayout& layout_;
  std::size_t seen_ = 0;
  std::vector<CopyJob> copies_;
};

// Copy within the output, keeping holes (small: a BIOS image, SMRAM).
Status copy_within(int fd, const CopyJob& job, const std::string& path) {
  std::vector<std::byte> buf(1u << 20);
  std::uint64_t done = 0;
  while (done < job.length) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), job.length - done));
    const ssize_t r = ::pread(fd, buf.data(), n, static_cast<off_t>(job.from + done));
    if (r != static_cast<ssize_t>(n)) return io_error("cannot read back", path);
    bool zero = std::all_of(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n), [](std::byte b) { return b == std::byte{0}; });
    if (!zero && !pwrite_all(fd, buf.data(), n, job.to + done))
      return io_error("cannot write", path);
    done += n;
  }
  return {};
}

Status punch(int fd, std::uint64_t from, std::uint64_t to, const std::string& path) {
  if (to <= from) return {};
  if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from), static_cast<off_t>(to - from)) == 0)
    return {};
  // No hole punching: the bytes stay (no PT_LOAD points at them).
  if (errno == EOPNOTSUPP) return {};
  return io_error("cannot punch a hole in", path);
}

struct Walked {
  WalkSummary summary;
  guest::MachineFacts facts;
};

// One pass writing pages through `target` (and collecting the machine facts).
Result<Walked> write_pass(const Dump& dump, PageTarget& target, const VmcoreOptions& options) {
  const OpenStream& s = dump.stream();
  MIGSCOPE_ASSIGN(const Bytes walked, s.prepare(false));  // XBZRLE pages are resolved against earlier ones
  PageIndex index(walked);
  StreamingExtractor writer(walked, index, target, options.threads > 1, /*release_behind=*/true);
  guest::MachineFactsCollector collector;
  StreamFanout fan({&index, &collector, &writer});
  WalkOptions walk;
  walk.page_size = options.page_size;
  auto summary = dump.walk(fan, walk);
  Status written = writer.finish();
  if (!summary.ok()) return std::move(summary).error();
  MIGSCOPE_TRY(written);
  return Walked{std::move(summary).value(), collector.take()};
}

void fill_report(VmcoreReport& report, const GuestLayout& layout, const guest::CoreNotes& notes) {
  report.layout = layout;
  report.elf_machine = notes.core.machine;
  report.elf_class64 = notes.core.class64;
  report.notes = notes.core.notes.size();
  for (const auto& n : notes.core.notes) report.cpus += n.type == 1;  // one NT_PRSTATUS per CPU
  report.remarks = layout.notes;
  report.remarks.insert(report.remarks.end(), notes.notes.begin(), notes.notes.end());
  for (const GuestRange& r : layout.ranges) report.data_bytes += r.length;
}

// The machine facts alone, from one read-once walk (no page is kept).
Result<guest::MachineFacts> probe_facts(const Dump& dump, std::optional<std::uint64_t> page_size) {
  guest::MachineFactsCollector collector;
  WalkOptions walk;
  walk.page_size = page_size;
  walk.read_once = true;
  walk.release_behind = true;
  MIGSCOPE_TRY(dump.walk(collector, walk));
  return collector.take();
}

}  // namespace

Result<GuestLayout> guest_layout(const Dump& dump, const LayoutOverrides& overrides, std::optional<std::uint64_t> page_size) {
  MIGSCOPE_ASSIGN(const guest::MachineFacts facts, probe_facts(dump, page_size));
  return guest::compute_layout(facts, overrides);
}

Result<VmcoreReport> vmcore(const Dump& dump, const VmcoreOptions& options) {
  if (auto refused = refuse_incomplete_save(dump, /*can_keep_going=*/false)) return *refused;
  VmcoreReport report;
  if (options.format == VmcoreFormat::raw) {
    // Pass 1: the map. Pass 2: every page at its address.
    MIGSCOPE_ASSIGN(const guest::MachineFacts probed, probe_facts(dump, options.page_size));
    MIGSCOPE_ASSIGN(GuestLayout layout, guest::compute_layout(probed, options.layout));
    if (layout.ranges.empty())
      return make_error(ErrorCode::unsupported, Error::no_offset, "no RAM block has a guest-physical address: nothing to write");
    MIGSCOPE_ASSIGN(OutputFile out, open_output_file(options.output, options.force));
    RawTarget target(out.fd, options.output, layout);
    MIGSCOPE_ASSIGN(Walked pass, write_pass(dump, target, options));
    // The second pass must have seen the same blocks the map was made of.
    if (pass.facts.block_names != probed.block_names)
      return make_error(ErrorCode::corrupt, Error::no_offset, "the stream's RAM blocks differ between two reads of it");
    for (const CopyJob& c : target.copies()) MIGSCOPE_TRY(copy_within(out.fd, c, options.output));
    if (::ftruncate(out.fd, static_cast<off_t>(layout.end())) != 0) return io_error("cannot size", options.output);
    MIGSCOPE_TRY(out.dir.commit());
    fill_report(report, layout, guest::CoreNotes{});  // a flat image has no notes
    report.summary = std::move(pass.summary);
    report.file_size = layout.end();
    return report;
  }

  MIGSCOPE_ASSIGN(OutputFile out, open_output_file(options.output, options.force));
  ElfTarget target(out.fd, options.output);
  MIGSCOPE_ASSIGN(Walked pass, write_pass(dump, target, options));
  MIGSCOPE_ASSIGN(GuestLayout layout, guest::compute_layout(pass.facts, options.layout));
  if (layout.ranges.empty())
    return make_error(ErrorCode::unsupported, Error::no_offset, "no RAM block has a guest-physical address: nothing to write");
  guest::CoreNotes notes = guest::cpu_notes(layout, pass.facts);
  for (const GuestRange& r : layout.ranges)
    notes.core.loads.push_back({r.paddr, r.length, target.bases()[r.block_index] + r.block_offset});
  const std::uint64_t header = guest::elf_headers_size(notes.core.class64, notes.core.loads.size(), notes.core.notes);
  if (header > kHeaderReserve)
    return make_error(ErrorCode::unsupported, Error::no_offset,
                      "the ELF headers and CPU notes need " + std::to_string(header) + " bytes, more than the " +
                          std::to_string(kHeaderReserve) + " reserved for them");
  if (!notes.core.class64) {
    for (const auto& l : notes.core.loads)
      if (l.file_offset + l.length > 0xffffffffULL)
        return make_error(ErrorCode::unsupported, Error::no_offset, "a 32-bit ELF core cannot hold this much memory");
  }
  const std::vector<std::byte> head = guest::elf_headers(notes.core);
  if (!pwrite_all(out.fd, head.data(), head.size(), 0)) return io_error("cannot write", options.output);
  // Punch what no PT_LOAD shows (hidden or unplaced parts of blocks), and end the file at the last byte shown.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> shown;
  for (const auto& l : notes.core.loads) shown.emplace_back(l.file_offset, l.file_offset + l.length);
  std::sort(shown.begin(), shown.end());
  std::uint64_t at = kHeaderReserve, end = 0;
  for (const auto& [s, e] : shown) {
    if (s > at) MIGSCOPE_TRY(punch(out.fd, at, s, options.output));
    at = std::max(at, e);
    end = std::max(end, e);
  }
  if (::ftruncate(out.fd, static_cast<off_t>(end)) != 0) return io_error("cannot size", options.output);
  MIGSCOPE_TRY(out.dir.commit());
  fill_report(report, layout, notes);
  report.summary = std::move(pass.summary);
  report.file_size = end;
  return report;
}

}  // namespace migscope::ops
