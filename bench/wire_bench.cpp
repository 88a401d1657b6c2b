// Byte-order loads and cursor reads: the innermost operations of every parse.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "bench_util.h"
#include "wire/cursor.h"
#include "wire/endian.h"

namespace migscope::bench {
namespace {

constexpr std::size_t kBuf = 64 * 1024;  // L1/L2-resident: measures the loads, not memory

template <typename Load, std::size_t Width>
void load_bench(benchmark::State& state, Load load) {
  std::vector<std::byte> buf(kBuf + 8);
  fill_pseudo_random(buf.data(), buf.size(), 1);
  for (auto _ : state) {
    std::uint64_t acc = 0;
    // Every offset, so most loads are unaligned (as in a stream).
    for (std::size_t i = 0; i < kBuf; i += Width) acc += load(buf.data() + i + 1);
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBuf));
}

void BM_LoadBe16(benchmark::State& s) { load_bench<decltype(&load_be16), 2>(s, &load_be16); }
void BM_LoadBe32(benchmark::State& s) { load_bench<decltype(&load_be32), 4>(s, &load_be32); }
void BM_LoadBe64(benchmark::State& s) { load_bench<decltype(&load_be64), 8>(s, &load_be64); }
BENCHMARK(BM_LoadBe16);
BENCHMARK(BM_LoadBe32);
BENCHMARK(BM_LoadBe64);

// A run of 13-byte records (be64, be32, u8) read with one need() per record,
// like a RAM record header or a section header.
void BM_CursorRecords(benchmark::State& state) {
  constexpr std::size_t kRecord = 13;
  std::vector<std::byte> buf(kBuf / kRecord * kRecord);
  fill_pseudo_random(buf.data(), buf.size(), 2);
  for (auto _ : state) {
    Cursor c(buf, 0);
    std::uint64_t acc = 0;
    while (!c.at_end()) {
      if (!c.need(kRecord, "record").ok()) break;
      acc += c.be64();
      acc += c.be32();
      acc += c.u8();
    }
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_CursorRecords);

// The same fields through the checked single-field reads (Result per field).
void BM_CursorCheckedReads(benchmark::State& state) {
  constexpr std::size_t kRecord = 13;
  std::vector<std::byte> buf(kBuf / kRecord * kRecord);
  fill_pseudo_random(buf.data(), buf.size(), 3);
  for (auto _ : state) {
    Cursor c(buf, 0);
    std::uint64_t acc = 0;
    while (!c.at_end()) {
      auto a = c.read_be64("a");
      auto b = c.read_be32("b");
      auto d = c.read_u8("c");
      if (!a.ok() || !b.ok() || !d.ok()) break;
      acc += *a + *b + *d;
    }
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_CursorCheckedReads);

// Page payload slices: need() + bytes(4096) per record, as the RAM parser does.
void BM_CursorPageSlices(benchmark::State& state) {
  constexpr std::size_t kRecord = 8 + kPage;
  std::vector<std::byte> buf(256 * kRecord);
  for (auto _ : state) {
    Cursor c(buf, 0);
    std::size_t acc = 0;
    while (!c.at_end()) {
      if (!c.need(kRecord, "page").ok()) break;
      acc += c.be64();
      acc += c.bytes(kPage).size();
    }
    benchmark::DoNotOptimize(acc);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 256));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_CursorPageSlices);

}  // namespace
}  // namespace migscope::bench
