// ChunkArena, and LazyArray / PageIndex on top of it: the page index of a
// large guest kept in a temporary file with a bounded resident set.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "json/py_writer.h"
#include "ram/chunk_arena.h"
#include "ram/lazy_array.h"
#include "ram/page_index.h"
#include "sinks/page_hasher.h"
#include "stream/open.h"
#include "migscope/stream.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace migscope {
namespace {

// Resident bytes of the mappings that start at `starts`.
std::uint64_t resident_bytes(std::span<std::byte* const> starts) {
  std::uint64_t total = 0;
  for (const std::byte* start : starts) total += test::mapping_resident_bytes(start);
  return total;
}

TEST(ChunkArena, ChunksAreZeroedStableAndSurviveTrim) {
  auto arena = ChunkArena::create(UINT64_MAX);
  ASSERT_TRUE(arena);
  std::vector<std::uint64_t*> chunks;
  const std::size_t n = 20000;  // 78 MiB: more than one segment
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t* c = arena->allocate();
    ASSERT_NE(c, nullptr);
    for (std::size_t k = 0; k < 512; ++k) ASSERT_EQ(c[k], 0u) << "chunk " << i;
    c[0] = i + 1;
    c[511] = ~i;
    chunks.push_back(c);
  }
  EXPECT_EQ(arena->segments().size(), 2u);
  arena->trim();  // dropped from the resident set, not from the file
  EXPECT_LT(resident_bytes(arena->segments()), std::uint64_t{1} << 20);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(chunks[i][0], i + 1);
    ASSERT_EQ(chunks[i][511], ~i);
  }
}

// Fill one entry per chunk of a 64 MiB LazyArray on an arena; the largest
// resident size of the arena seen on the way.
std::uint64_t fill_and_watch(std::shared_ptr<ChunkArena> arena, LazyArray& a) {
  const std::uint64_t chunks = 16384;
  EXPECT_TRUE(a.allocate(chunks * LazyArray::kChunk, arena));
  std::uint64_t max_resident = 0;
  for (std::uint64_t c = 0; c < chunks; ++c) {
    std::uint64_t* e = a.ref(c * LazyArray::kChunk + c % LazyArray::kChunk);
    if (!e) return UINT64_MAX;
    *e = c + 1;
    if (c % 1024 == 1023) max_resident = std::max(max_resident, resident_bytes(arena->segments()));
  }
  return max_resident;
}

TEST(ChunkArena, LazyArrayOnAnArenaKeepsValuesAndBoundsTheResidentSet) {
  LazyArray untrimmed;
  const std::uint64_t without = fill_and_watch(ChunkArena::create(UINT64_MAX), untrimmed);
  LazyArray a;
  const std::uint64_t with = fill_and_watch(ChunkArena::create(64), a);  // trim every 64 chunk switches
  // Without trims all 64 MiB stay mapped. With them, what 64 switches map: a
  // few pages on tmpfs, a few large folios on ext4 (a write fault maps the
  // whole folio), so 4 MiB here.
  EXPECT_GE(without, std::uint64_t{48} << 20);
  EXPECT_LE(with, std::uint64_t{8} << 20);
  const std::uint64_t chunks = 16384;
  for (std::uint64_t c = 0; c < chunks; ++c) {
    ASSERT_EQ(a.get(c * LazyArray::kChunk + c % LazyArray::kChunk), c + 1);
    ASSERT_EQ(a.get(c * LazyArray::kChunk + (c + 1) % LazyArray::kChunk), 0u);
    ASSERT_TRUE(a.chunk_allocated(c));
  }
  EXPECT_EQ(a.next_allocated(100), 100u);
  // Moving keeps the chunks (they belong to the arena, not to the array).
  LazyArray moved = std::move(a);
  EXPECT_EQ(moved.get(5 * LazyArray::kChunk + 5), 6u);
}

// hash_pages's whole output, with the index on the heap or spilled.
std::string hash_output(const std::string& path, std::uint64_t spill_pages, bool* spilled) {
  auto opened = open_stream(path);
  if (!opened.ok()) return "open: " + opened.error().message();
  OpenStream& s = opened.value();
  PageIndex index(s.bytes(), spill_pages);
  WalkOptions options;
  options.vmdesc = s.vmdesc ? &*s.vmdesc : nullptr;
  auto summary = walk_stream(s.bytes(), s.location, options, index);
  if (!summary.ok()) return "walk: " + summary.error().message();
  *spilled = index.spilled();
  std::string lines;
  json::OutBuffer out(&lines);
  PageHashOptions ho;
  ho.threads = 2;
  auto sums = hash_pages(s.bytes(), index, ho, out);
  out.Flush();
  if (!sums.ok()) return "hash: " + sums.error().message();
  return lines;
}

TEST(ChunkArena, SpilledPageIndexGivesTheSameHashes) {
  const fs::path dir = fs::path(test::binary_dir()) / "corpus" / "streams";
  if (!fs::exists(dir)) GTEST_SKIP() << "corpus not built";
  int streams = 0;
  for (const char* name : {"x86_64-pc-7.2.mig", "x86_64-q35-7.2-xbzrle.mig", "x86_64-q35-7.2-compress-running.mig",
                           "x86_64-q35-7.2-postcopy.mig", "aarch64-virt-7.2.mig"}) {
    const fs::path p = dir / name;
    if (!fs::exists(p)) continue;
    bool heap_spilled = true, arena_spilled = false;
    const std::string heap = hash_output(p.string(), PageIndex::kSpillPages, &heap_spilled);
    const std::string arena = hash_output(p.string(), 0, &arena_spilled);
    EXPECT_FALSE(heap_spilled) << name;
    EXPECT_TRUE(arena_spilled) << name;
    EXPECT_GT(heap.size(), 1000u) << name << ": " << heap.substr(0, 200);
    EXPECT_EQ(heap, arena) << name;
    ++streams;
  }
  EXPECT_EQ(streams, 5);
}

}  // namespace
}  // namespace migscope
