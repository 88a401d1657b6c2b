// cat: the stream bytes from the walked bytes (the mapped file, or the
// decompressed / qcow2-read spool), with mapped-ram offsets rebased when a
// wrapper's header precedes the stream.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <unistd.h>

#include "input/input.h"
#include "migscope/ops.h"
#include "ops/incomplete_save.h"
#include "ops/text_output.h"
#include "sinks/output_dir.h"
#include "stream/open.h"
#include "wire/endian.h"

namespace migscope::ops {

namespace {

struct BlockTable : StreamVisitor {
  std::vector<RamBlock> blocks;
  Status on_ram_blocks(const SectionInfo&, std::span<const RamBlock> b) override {
    blocks.assign(b.begin(), b.end());
    return {};
  }
};

// 8 bytes of the output replaced by a rebased big-endian offset.
struct Patch {
  std::uint64_t at;  // offset in the stream
  std::byte value[8];
};

bool all_zero(const std::byte* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != std::byte{0}) return false;
  return true;
}

// `n` bytes at `at` of the output file, runs of zeros (in 64 KiB units) left as holes.
Status write_sparse(int fd, std::uint64_t at, const std::byte* p, std::size_t n, const std::string& name) {
  constexpr std::size_t kChunk = 64u << 10;
  while (n > 0) {
    const std::size_t take = std::min(n, kChunk - static_cast<std::size_t>(at % kChunk));
    if (!all_zero(p, take)) {
      for (std::size_t done = 0; done < take;) {
        const ssize_t w = ::pwrite(fd, p + done, take - done, static_cast<off_t>(at + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return make_error(ErrorCode::io, Error::no_offset, "cannot write " + name + ": " + std::strerror(errno));
        done += static_cast<std::size_t>(w);
      }
    }
    p += take;
    at += take;
    n -= take;
  }
  return {};
}

}  // namespace

// QEMU aligns each mapped-ram page region to 1 MiB of the file
// (MAPPED_RAM_FILE_OFFSET_ALIGNMENT); moving regions must keep that.
constexpr std::uint64_t kRegionAlignment = 1u << 20;

namespace {

// Passes what it reads on to `emit`, in order, each byte once, as the
// decompressor (or the qcow2 reader) produces it: on the window's producer
// thread, ahead of the walk that checks the stream.
class TeeReader final : public SequentialReader {
 public:
  TeeReader(std::unique_ptr<SequentialReader> inner, std::function<Status(Bytes)> emit)
      : inner_(std::move(inner)), emit_(std::move(emit)) {}
  Result<std::size_t> read(std::span<std::byte> out) override {
    MIGSCOPE_ASSIGN(const std::size_t n, inner_->read(out));
    if (n == 0) ended_ = true;
    else MIGSCOPE_TRY(emit_(Bytes{out.data(), n}));
    return n;
  }
  std::string name() const override { return inner_->name(); }
  bool ended() const noexcept { return ended_; }

 private:
  std::unique_ptr<SequentialReader> inner_;
  std::function<Status(Bytes)> emit_;
  bool ended_ = false;
};

// A decompressed stream (or a qcow2 snapshot's VM state) starts at its first
// byte and has no mapped-ram regions to move (a sparse save is never
// compressed): copied as it is produced (TeeReader), while a read-once walk
// of the same bytes checks it. No temporary file; a stream cut short or
// damaged is an error, after the bytes before the damage (standard output)
// or with no file left (a file).
Result<CatReport> cat_streamed(const Dump& dump, const CatOptions& options, const TextOutput& out) {
  const OpenStream& s = dump.stream();
  CatReport report;
  std::optional<OutputBuffer> buffer;
  std::optional<OutputFile> target;
  if (options.output.empty()) {
    buffer.emplace(out);
  } else {
    MIGSCOPE_ASSIGN(auto t, open_output_file(options.output, options.force));
    target.emplace(std::move(t));
  }
  auto emit = [&](Bytes piece) -> Status {
    if (buffer) buffer->buffer().Write({reinterpret_cast<const char*>(piece.data()), piece.size()});
    else MIGSCOPE_TRY(write_sparse(target->fd, report.bytes, piece.data(), piece.size(), options.output));
    report.bytes += piece.size();
    return {};
  };
  MIGSCOPE_ASSIGN(auto source, s.reopen());
  auto tee = std::make_unique<TeeReader>(std::move(source), emit);
  TeeReader* teed = tee.get();
  s.last_once.reset();
  MIGSCOPE_ASSIGN(s.next_once, StreamWindow::start(std::move(tee), s.limit, s.container.path(), StreamWindow::Kind::once));
  StreamWindow* window = s.next_once.get();
  struct Nothing : StreamVisitor {} nothing;
  WalkOptions walk;
  walk.read_once = true;
  MIGSCOPE_TRY(dump.walk(nothing, walk));
  // The walk may have stopped before the producer (a stream walked again
  // from a spool): let the copy run to its end.
  for (std::uint64_t at = window->filled(); !window->ended(); at = window->filled())
    window->wait_for(at + StreamWindow::kChunk, at);
  if (const Error* e = window->failure()) return *e;
  if (!teed->ended()) return make_error(ErrorCode::io, Error::no_offset, "the copy of the stream stopped before its end");
  if (buffer) {
    MIGSCOPE_TRY(buffer->finish());
    return report;
  }
  if (::ftruncate(target->fd, static_cast<off_t>(report.bytes)) != 0)  // a zero run at the end is a hole
    return make_error(ErrorCode::io, Error::no_offset, "cannot write " + options.output + ": " + std::strerror(errno));
  MIGSCOPE_TRY(target->dir.commit());
  return report;
}

}  // namespace

Result<CatReport> cat(const Dump& dump, const CatOptions& options, const TextOutput& out) {
  if (auto refused = refuse_incomplete_save(dump, /*can_keep_going=*/false)) return *refused;
  if (dump.stream().streamed() && dump.location().stream_offset == 0 && !dump.stream().window)
    return cat_streamed(dump, options, out);
  MIGSCOPE_ASSIGN(const Bytes all, dump.random_access());
  const std::uint64_t base = dump.location().stream_offset;
  CatReport report;
  // Without mapped-ram regions the output is all[base, end) at 0. With them
  // (a sparse libvirt save: offsets count the libvirt header), the stream up
  // to the first region goes to 0 and everything from there moves down by
  // `shift` (base rounded down to the alignment, so regions stay aligned),
  // with a hole between; the headers' offsets are rebased by `shift`.
  std::uint64_t first_region = all.size(), shift = base;
  std::vector<Patch> patches;
  // The walk (at walking speed, before a byte is written) refuses a stream
  // cut short or damaged, naming where; it also learns the RAM block table.
  BlockTable table;
  MIGSCOPE_TRY(dump.walk(table));
  if (base != 0) {
    for (const RamBlock& b : table.blocks)
      if (b.mapped_ram && (b.bitmap_offset != 0 || b.pages_offset != 0))
        first_region = std::min({first_region, b.bitmap_offset, b.pages_offset});
    if (first_region < all.size()) shift = base / kRegionAlignment * kRegionAlignment;
    for (const RamBlock& b : table.blocks) {
      if (!b.mapped_ram || (b.bitmap_offset == 0 && b.pages_offset == 0)) continue;
      if (b.bitmap_offset < first_region || b.pages_offset < first_region || b.mapped_ram_header_offset < base)
        return make_error(ErrorCode::corrupt, b.mapped_ram_header_offset,
                          "mapped-ram offsets of block '" + std::string(b.name) + "' point before the stream's start");
      for (auto [field, value] : {std::pair{12u, b.bitmap_offset}, std::pair{20u, b.pages_offset}}) {
        Patch p;
        p.at = b.mapped_ram_header_offset + field;  // in `all`
        store_be64(p.value, value - shift);
        patches.push_back(p);
      }
      ++report.rebased_blocks;
    }
    std::sort(patches.begin(), patches.end(), [](const Patch& a, const Patch& b) { return a.at < b.at; });
    if (report.rebased_blocks) report.rebased_by = shift;
  }
  // Where a byte of `all` goes in the output.
  auto dest = [&](std::uint64_t src) { return src < first_region ? src - base : src - shift; };
  const std::uint64_t prefix_end = std::min<std::uint64_t>(first_region, all.size());
  report.bytes = first_region < all.size() ? all.size() - shift : all.size() - base;

  // The pieces in output order, split at the patches; `emit(dest, bytes, n)`.
  static const std::byte kZeros[4096] = {};
  auto write_all = [&](auto&& emit) -> Status {
    auto span = [&](std::uint64_t from, std::uint64_t to) -> Status {
      for (const Patch& p : patches) {
        if (p.at + 8 <= from || p.at >= to) continue;
        MIGSCOPE_TRY(emit(dest(from), all.data() + from, static_cast<std::size_t>(p.at - from)));
        MIGSCOPE_TRY(emit(dest(p.at), p.value, 8));
        from = p.at + 8;
      }
      // In 8 MiB pieces, each dropped from the resident set once written
      // (the walked bytes are a read-only mapping).
      constexpr std::uint64_t kPiece = 8u << 20;
      for (std::uint64_t at = from; at < to;) {
        const std::uint64_t end = std::min(to, at + kPiece);
        MIGSCOPE_TRY(emit(dest(at), all.data() + at, static_cast<std::size_t>(end - at)));
        release_mapped_range(all, at, end);
        at = end;
      }
      return {};
    };
    MIGSCOPE_TRY(span(base, prefix_end));
    if (prefix_end < all.size()) {
      for (std::uint64_t at = prefix_end - base; at < prefix_end - shift;) {  // the hole
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof kZeros, prefix_end - shift - at));
        MIGSCOPE_TRY(emit(at, kZeros, n));
        at += n;
      }
      MIGSCOPE_TRY(span(prefix_end, all.size()));
    }
    return {};
  };

  if (options.output.empty()) {
    OutputBuffer buffer(out);
    MIGSCOPE_TRY(write_all([&](std::uint64_t, const std::byte* p, std::size_t n) -> Status {
      buffer.buffer().Write({reinterpret_cast<const char*>(p), n});
      return {};
    }));
    MIGSCOPE_TRY(buffer.finish());
    return report;
  }

  // A file: under a temporary name, zero runs left as holes, renamed when complete.
  MIGSCOPE_ASSIGN(auto target, open_output_file(options.output, options.force));
  const int fd = target.fd;
  if (report.bytes > 0 && ::ftruncate(fd, static_cast<off_t>(report.bytes)) != 0)
    return make_error(ErrorCode::io, Error::no_offset, "cannot size " + options.output + ": " + std::strerror(errno));
  MIGSCOPE_TRY(write_all([&](std::uint64_t at, const std::byte* p, std::size_t n) -> Status {
    return write_sparse(fd, at, p, n, options.output);
  }));
  MIGSCOPE_TRY(target.dir.commit());
  return report;
}

}  // namespace migscope::ops
