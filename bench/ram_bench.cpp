// RAM: the record walk (pass 1), page resolution by kind (ZERO / PAGE /
// XBZRLE / zlib), per-page XXH3 and the whole `hash` sink over an in-memory
// stream.
#include <benchmark/benchmark.h>

#include <xxhash.h>
#include <xxh_x86dispatch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "json/py_writer.h"
#include "ram/page_index.h"
#include "sinks/inorder_hasher.h"
#include "sinks/page_hasher.h"
#include "sinks/xxh3_pages.h"

namespace migscope::bench {
namespace {

// Streams are built once per (kind, pages) and shared by the benchmarks.
const std::vector<std::byte>& stream_of(SynthKind kind, std::uint64_t pages) {
  static std::map<std::pair<int, std::uint64_t>, std::unique_ptr<std::vector<std::byte>>> cache;
  auto& slot = cache[{static_cast<int>(kind), pages}];
  if (!slot) slot = std::make_unique<std::vector<std::byte>>(synth_stream(pages, kind));
  return *slot;
}

class NoopVisitor : public StreamVisitor {
 public:
  Status on_pages(std::span<const RamBlock>, std::span<const PageRecord> pages) override {
    records += pages.size();
    return {};
  }
  std::uint64_t records = 0;
};

// Pass 1 with a visitor that does nothing: the walker and RAM record parser
// alone. Bytes are stream bytes (payloads are sliced, never read).
void BM_RamWalk(benchmark::State& state, SynthKind kind) {
  const std::uint64_t pages = static_cast<std::uint64_t>(state.range(0));
  const auto& s = stream_of(kind, pages);
  std::uint64_t records = 0;
  for (auto _ : state) {
    NoopVisitor v;
    walk_or_die(s, v);
    records += v.records;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(records));
}
BENCHMARK_CAPTURE(BM_RamWalk, page, SynthKind::page)->Arg(16384);
BENCHMARK_CAPTURE(BM_RamWalk, zero, SynthKind::zero)->Arg(262144);
BENCHMARK_CAPTURE(BM_RamWalk, mixed, SynthKind::mixed)->Arg(16384);

// Pass 1 into the page index (what hash/extract do before pass 2).
void BM_RamIndex(benchmark::State& state, SynthKind kind) {
  const std::uint64_t pages = static_cast<std::uint64_t>(state.range(0));
  const auto& s = stream_of(kind, pages);
  for (auto _ : state) {
    PageIndex index(s);
    walk_or_die(s, index);
    benchmark::DoNotOptimize(index.entry(0, 0));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * pages));
}
BENCHMARK_CAPTURE(BM_RamIndex, mixed, SynthKind::mixed)->Arg(16384);
BENCHMARK_CAPTURE(BM_RamIndex, zero, SynthKind::zero)->Arg(262144);

// PageResolver::resolve over every page of a stream of one kind. Bytes are
// page bytes produced; the first byte of each result is read so that a
// pointer into the mapping is not free. PAGE and ZERO resolve to pointers,
// XBZRLE copies the base page then applies the delta, zlib inflates.
void BM_Resolve(benchmark::State& state, SynthKind kind) {
  const std::uint64_t pages = static_cast<std::uint64_t>(state.range(0));
  const auto& s = stream_of(kind, pages);
  PageIndex index(s);
  walk_or_die(s, index);
  PageResolver resolver(s, index);
  std::vector<std::byte> scratch(kPage);
  for (auto _ : state) {
    std::uint64_t acc = 0;
    for (std::uint64_t p = 0; p < pages; ++p) {
      auto r = resolver.resolve(index.entry(0, p), scratch.data());
      if (!r.ok()) {
        state.SkipWithError(r.error().message().c_str());
        return;
      }
      acc += static_cast<std::uint8_t>((*r)[p % kPage]);
    }
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * pages * kPage));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * pages));
}
BENCHMARK_CAPTURE(BM_Resolve, zero, SynthKind::zero)->Arg(16384);
BENCHMARK_CAPTURE(BM_Resolve, page, SynthKind::page)->Arg(16384);
BENCHMARK_CAPTURE(BM_Resolve, xbzrle, SynthKind::xbzrle)->Arg(4096);
BENCHMARK_CAPTURE(BM_Resolve, zlib, SynthKind::zlib)->Arg(4096);

// XBZRLE delta decoding alone (4 runs of 32 changed bytes per page).
void BM_XbzrleDecode(benchmark::State& state) {
  std::vector<std::byte> prev(kPage), page(kPage), delta(2 * kPage);
  fill_pseudo_random(prev.data(), kPage, 9);
  page = prev;
  for (std::size_t r = 0; r < 4; ++r)
    for (std::size_t i = 0; i < 32; ++i) page[r * 1000 + i] ^= std::byte{0x5a};
  long n = xbzrle_encode(prev, page, delta, kPage);
  std::vector<std::byte> out = prev;
  for (auto _ : state) {
    auto st = xbzrle_decode({delta.data(), static_cast<std::size_t>(n)}, out, 0);
    benchmark::DoNotOptimize(st.ok());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPage));
}
BENCHMARK(BM_XbzrleDecode);

// XXH3-64 per 4 KiB page through xxh_x86dispatch.h (the path `hash` uses).
// 1 MiB stays in L2; 256 MiB measures the DRAM-bound case.
void BM_HashPagesXXH3(benchmark::State& state) {
  const std::size_t bytes = static_cast<std::size_t>(state.range(0));
  std::vector<std::byte> buf(bytes);
  fill_pseudo_random(buf.data(), bytes, 4);
  for (auto _ : state) {
    std::uint64_t acc = 0;
    for (std::size_t off = 0; off < bytes; off += kPage) acc ^= XXH3_64bits(buf.data() + off, kPage);
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.SetLabel(std::string(xxh3_simd_level()));
}
BENCHMARK(BM_HashPagesXXH3)->Arg(1 << 20)->Arg(256 << 20);

// The streaming XXH3-128 over whole pages (hash's block_xxh128, consumer thread).
void BM_HashBlockXXH128Stream(benchmark::State& state) {
  const std::size_t bytes = static_cast<std::size_t>(state.range(0));
  std::vector<std::byte> buf(bytes);
  fill_pseudo_random(buf.data(), bytes, 5);
  XXH3_state_t* st = XXH3_createState();
  for (auto _ : state) {
    XXH3_128bits_reset(st);
    for (std::size_t off = 0; off < bytes; off += kPage) XXH3_128bits_update(st, buf.data() + off, kPage);
    benchmark::DoNotOptimize(XXH3_128bits_digest(st));
  }
  XXH3_freeState(st);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_HashBlockXXH128Stream)->Arg(1 << 20)->Arg(256 << 20);

// Both hashes of every page, as `hash` needs them. Arg 1 = two libxxhash
// calls per page (XXH3-64 + the streaming XXH3-128), arg 0 = Xxh3PageKernel's
// one pass; 256 MiB of pages, DRAM-bound.
void BM_HashBothPerPage(benchmark::State& state) {
  const std::size_t bytes = std::size_t{256} << 20;
  std::vector<std::byte> buf(bytes);
  fill_pseudo_random(buf.data(), bytes, 6);
  const bool library = state.range(0) == 1;
  XXH3_state_t* st = XXH3_createState();
  const Xxh3PageKernel& kernel = xxh3_page_kernel();
  Xxh3PageSums sums;
  for (auto _ : state) {
    std::uint64_t acc = 0;
    if (library) {
      XXH3_128bits_reset(st);
      for (std::size_t off = 0; off < bytes; off += kPage) {
        acc ^= XXH3_64bits(buf.data() + off, kPage);
        XXH3_128bits_update(st, buf.data() + off, kPage);
      }
      benchmark::DoNotOptimize(XXH3_128bits_digest(st));
    } else {
      Xxh3BlockStream stream(kernel);
      for (std::size_t off = 0; off + kPage < bytes; off += kPage) {
        acc ^= kernel.page(buf.data() + off, sums);
        stream.add(sums);
      }
      benchmark::DoNotOptimize(stream.finish(buf.data() + bytes - kPage, bytes));
    }
    benchmark::DoNotOptimize(acc);
  }
  XXH3_freeState(st);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.SetLabel(library ? std::string("libxxhash, ") + std::string(xxh3_simd_level()) : std::string("kernel, ") + kernel.isa);
}
BENCHMARK(BM_HashBothPerPage)->Arg(0)->Arg(1);

// The whole `hash` pass 2 (resolve, XXH3-64 per page, JSON lines, XXH3-128 of
// the block) over an in-memory stream, output into a string. Arg = threads.
void BM_HashSink(benchmark::State& state) {
  constexpr std::uint64_t kPages = 16384;  // 64 MiB of RAM, 2/3 data pages
  const auto& s = stream_of(SynthKind::mixed, kPages);
  PageIndex index(s);
  walk_or_die(s, index);
  std::string text;
  text.reserve(4u << 20);
  for (auto _ : state) {
    text.clear();
    json::OutBuffer out(&text);
    PageHashOptions o;
    o.threads = static_cast<unsigned>(state.range(0));
    auto r = hash_pages(s, index, o, out);
    out.Flush();
    if (!r.ok()) {
      state.SkipWithError(r.error().message().c_str());
      return;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPages * kPage));
  state.counters["threads"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_HashSink)->Arg(1)->Arg(2)->UseRealTime();

// `hash`'s first pass: the walk with the one-pass hasher (each page's XXH3-64
// and the block's XXH3-128), over an in-memory stream whose pages arrive in
// order. Arg = threads (2: the worker and the walking thread both hash).
void BM_InOrderHasher(benchmark::State& state) {
  constexpr std::uint64_t kPages = 32768;  // 128 MiB of RAM, 2/3 data pages: beyond the caches
  const auto& s = stream_of(SynthKind::mixed, kPages);
  for (auto _ : state) {
    InOrderHasher hasher(s, state.range(0) > 1, /*release_behind=*/false);
    walk_or_die(s, hasher);
    if (!hasher.finish().ok() || !hasher.complete(0)) {
      state.SkipWithError("the block was not hashed in one pass");
      return;
    }
    benchmark::DoNotOptimize(hasher.block_hash(0));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPages * kPage));
  state.counters["threads"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_InOrderHasher)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
}  // namespace migscope::bench
