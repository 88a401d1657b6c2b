// The second pass over a page index: batches reach the consumer in block then
// page order, each sent page exactly once, with its final content (a pointer
// into the input for a PAGE record, the index's zero page for a zero page);
// skipped blocks are left out; 1, 2 and 4 threads give the same sequence; an
// error from the work function or the consumer ends the run and is returned.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <xxhash.h>

#include "input/input.h"
#include "migscope/stream.h"
#include "pipeline/page_pipeline.h"
#include "ram/page_index.h"
#include "ram/xbzrle.h"
#include "stream_builder.h"

namespace migscope {
namespace {

using test::StreamBuilder;
constexpr std::uint64_t P = 4096;
using Content = std::vector<std::byte>;

Content pattern(std::uint64_t seed) {
  Content p(P);
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 3;
  for (std::size_t i = 0; i < P; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = static_cast<std::byte>(x >> 5);
  }
  return p;
}

// What a page must look like after the walk.
struct Final {
  std::uint64_t payload = 0;  // PAGE: offset of its bytes in the input
  bool zero = false;          // a zero page with fill 0
  Content content;
};

struct Script {
  StreamBuilder b;
  std::vector<std::string> names;
  std::map<std::uint32_t, std::map<std::uint64_t, Final>> sent;  // block -> page -> final version

  std::uint32_t index_of(const std::string& name) const {
    for (std::uint32_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return i;
    ADD_FAILURE() << name;
    return 0;
  }
  void page(std::uint64_t page, const std::string& block, const Content& c) {
    b.ram_header(page * P, 0x08, block);
    Final f;
    f.payload = b.offset();
    f.content = c;
    b.raw(c);
    sent[index_of(block)][page] = f;
  }
  void zero(std::uint64_t page, const std::string& block, std::uint8_t fill = 0) {
    b.ram_zero(page * P, block, fill);
    Final f;
    f.zero = fill == 0;
    f.content.assign(P, std::byte{fill});
    sent[index_of(block)][page] = f;
  }
  void xbzrle(std::uint64_t page, const std::string& block, const Content& next) {
    Final& prev = sent[index_of(block)][page];
    Content before = prev.content.empty() ? Content(P) : prev.content;
    Content delta(P + P / 64 + 16);
    long n = xbzrle_encode(before, next, delta, P);
    ASSERT_GT(n, 0);
    delta.resize(static_cast<std::size_t>(n));
    b.ram_xbzrle(page * P, block, delta);
    prev = Final{};
    prev.content = next;
  }
};

// Blocks "a" (3000 pages: a dense run, then pages in far chunks), "b" (never
// sent), "c" (a few pages, out of order). Re-sent pages, fills, XBZRLE.
Script sample() {
  Script s;
  s.names = {"a", "b", "c"};
  s.b.header().configuration("pc-q35-7.2");
  s.b.section_start(2, "ram", 0, 4).ram_mem_size({{"a", 3000 * P}, {"b", 16 * P}, {"c", 8 * P}}).ram_eos().footer(2);
  s.b.section_part(2);
  s.page(2999, "a", pattern(1));
  s.page(7, "c", pattern(2));
  for (std::uint64_t p = 0; p < 300; ++p) s.zero(p, "a");
  s.page(5, "a", pattern(3));  // over a zero page
  s.zero(6, "a", 0x77);        // a fill: decoded into scratch
  s.page(1000, "a", pattern(4));
  s.zero(3, "c");
  s.b.ram_eos().footer(2);
  s.b.section_end(2);
  s.page(5, "a", pattern(5));  // the last version wins
  Content changed = pattern(4);
  changed[17] ^= std::byte{0xff};
  s.xbzrle(1000, "a", changed);
  s.page(2050, "a", pattern(6));
  s.page(0, "c", pattern(7));
  s.b.ram_eos().footer(2).eof();
  return s;
}

struct Indexed {
  std::vector<std::byte> bytes;
  std::unique_ptr<PageIndex> index;
};

Indexed index_stream(const StreamBuilder& b) {
  Indexed x;
  x.bytes.assign(b.bytes().begin(), b.bytes().end());
  x.index = std::make_unique<PageIndex>(Bytes(x.bytes));
  auto loc = locate_stream(x.bytes);
  EXPECT_TRUE(loc.ok());
  auto w = walk_stream(x.bytes, *loc, {}, *x.index);
  EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message());
  return x;
}

struct Seen {
  std::uint32_t block;
  std::vector<std::uint64_t> pages;
  std::vector<const std::byte*> content;
  std::vector<std::uint64_t> values;   // set by the work function
  std::vector<std::uint64_t> hashes;   // of the content, taken by the consumer
};

Status collect(const PageBatch& b, std::vector<Seen>& out) {
  Seen s{b.block, b.pages, b.content, b.values, {}};
  for (const std::byte* p : b.content) s.hashes.push_back(XXH3_64bits(p, P));
  out.push_back(std::move(s));
  return {};
}

Status hash_work(PageBatch& b) {
  for (std::size_t i = 0; i < b.pages.size(); ++i) b.values[i] = XXH3_64bits(b.content[i], P);
  return {};
}

std::vector<Seen> run(const Indexed& x, unsigned threads, std::vector<bool> skip = {}) {
  PagePipeline pipeline(x.bytes, *x.index, threads);
  if (!skip.empty()) pipeline.skip_blocks(std::move(skip));
  std::vector<Seen> seen;
  Status st = pipeline.run(hash_work, [&](const PageBatch& b) { return collect(b, seen); });
  EXPECT_TRUE(st.ok()) << st.error().message();
  return seen;
}

// Every batch against the script: one block, ascending pages, in block then
// page order over all batches, each sent page once, the right content.
void expect_sequence(const std::vector<Seen>& seen, const Script& s, const Indexed& x, const std::set<std::uint32_t>& blocks) {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> want, got;
  for (const auto& [block, pages] : s.sent)
    if (blocks.count(block))
      for (const auto& [page, f] : pages) want.emplace_back(block, page);
  for (const Seen& batch : seen) {
    ASSERT_FALSE(batch.pages.empty());
    ASSERT_LE(batch.pages.size(), PagePipeline::kBatchPages);
    ASSERT_EQ(batch.content.size(), batch.pages.size());
    for (std::size_t i = 0; i < batch.pages.size(); ++i) {
      const std::uint64_t page = batch.pages[i];
      SCOPED_TRACE(testing::Message() << "block " << batch.block << " page " << page);
      got.emplace_back(batch.block, page);
      auto bit = s.sent.find(batch.block);
      ASSERT_NE(bit, s.sent.end());
      auto pit = bit->second.find(page);
      ASSERT_NE(pit, bit->second.end()) << "a page that was never sent";
      const Final& f = pit->second;
      if (f.payload) {
        ASSERT_EQ(batch.content[i], x.bytes.data() + f.payload);  // the input itself
      }
      if (f.zero) {
        ASSERT_EQ(batch.content[i], x.index->zero_page());
      }
      ASSERT_EQ(batch.hashes[i], XXH3_64bits(f.content.data(), P));
      ASSERT_EQ(batch.values[i], batch.hashes[i]);
    }
  }
  EXPECT_EQ(got, want);  // std::map order: block, then page
}

TEST(PagePipeline, BatchesArriveInBlockThenPageOrderWithTheFinalContent) {
  Script s = sample();
  Indexed x = index_stream(s.b);
  std::vector<Seen> seen = run(x, 1);
  expect_sequence(seen, s, x, {0, 1, 2});
  for (const Seen& batch : seen) EXPECT_NE(batch.block, 1u);  // nothing sent: no batch
  // "a" has more sent pages than one batch holds.
  std::size_t a_batches = 0;
  for (const Seen& batch : seen) a_batches += batch.block == 0;
  EXPECT_GE(a_batches, 2u);
}

TEST(PagePipeline, ThreadCountsGiveTheSameSequence) {
  Script s = sample();
  Indexed x = index_stream(s.b);
  const std::vector<Seen> one = run(x, 1);
  for (unsigned threads : {2u, 4u}) {
    SCOPED_TRACE(threads);
    const std::vector<Seen> many = run(x, threads);
    expect_sequence(many, s, x, {0, 1, 2});
    ASSERT_EQ(many.size(), one.size());
    for (std::size_t i = 0; i < one.size(); ++i) {
      EXPECT_EQ(many[i].block, one[i].block);
      EXPECT_EQ(many[i].pages, one[i].pages);
      EXPECT_EQ(many[i].values, one[i].values);
    }
  }
}

TEST(PagePipeline, ARunCanBeRepeated) {
  Script s = sample();
  Indexed x = index_stream(s.b);
  for (unsigned threads : {1u, 2u}) {
    SCOPED_TRACE(threads);
    PagePipeline pipeline(x.bytes, *x.index, threads);
    std::vector<Seen> first, second;
    ASSERT_TRUE(pipeline.run(hash_work, [&](const PageBatch& b) { return collect(b, first); }).ok());
    ASSERT_TRUE(pipeline.run(hash_work, [&](const PageBatch& b) { return collect(b, second); }).ok());
    expect_sequence(first, s, x, {0, 1, 2});
    expect_sequence(second, s, x, {0, 1, 2});
  }
}

TEST(PagePipeline, SkippedBlocksAreLeftOut) {
  Script s = sample();
  Indexed x = index_stream(s.b);
  for (unsigned threads : {1u, 2u, 4u}) {
    SCOPED_TRACE(threads);
    expect_sequence(run(x, threads, {true, false, false}), s, x, {2});
    expect_sequence(run(x, threads, {false, false, true}), s, x, {0});
    expect_sequence(run(x, threads, {true}), s, x, {2});  // blocks past the vector are not skipped
    EXPECT_TRUE(run(x, threads, {true, true, true}).empty());
  }
}

TEST(PagePipeline, WorkErrorStopsTheRunAndIsReturned) {
  Script s = sample();
  Indexed x = index_stream(s.b);
  for (unsigned threads : {1u, 2u, 4u}) {
    SCOPED_TRACE(threads);
    PagePipeline pipeline(x.bytes, *x.index, threads);
    std::vector<Seen> seen;
    Status st = pipeline.run(
        [](PageBatch& b) -> Status {
          if (b.block == 2) return make_error(ErrorCode::io, 1234, "work failed on block c");
          return hash_work(b);
        },
        [&](const PageBatch& b) { return collect(b, seen); });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::io);
    EXPECT_EQ(st.error().offset, 1234u);
    EXPECT_EQ(st.error().detail, "work failed on block c");
    // Everything before the failing batch was consumed, nothing after it.
    expect_sequence(seen, s, x, {0});
  }
}

TEST(PagePipeline, ConsumerErrorStopsTheRunAndIsReturned) {
  Script s = sample();
  Indexed x = index_stream(s.b);
  for (unsigned threads : {1u, 2u, 4u}) {
    SCOPED_TRACE(threads);
    PagePipeline pipeline(x.bytes, *x.index, threads);
    std::atomic<int> consumed{0};
    Status st = pipeline.run(hash_work, [&](const PageBatch&) -> Status {
      ++consumed;
      return make_error(ErrorCode::io, Error::no_offset, "consumer full");
    });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().detail, "consumer full");
    EXPECT_EQ(consumed.load(), 1);
  }
}

TEST(PagePipeline, EmptyIndexGivesNoBatch) {
  StreamBuilder b;
  b.header().section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 8 * P}}).ram_eos().footer(2).eof();
  Indexed x = index_stream(b);
  for (unsigned threads : {1u, 2u}) EXPECT_TRUE(run(x, threads).empty());
}

}  // namespace
}  // namespace migscope
