// The one-pass hasher: a block whose pages arrive once each, in ascending
// order, is complete, with each page's XXH3-64 and the block's XXH3-128 equal
// to libxxhash's over the bytes put in; a re-sent, skipped, unsent, XBZRLE or
// compressed page makes its block incomplete, a discard every block;
// threaded and unthreaded agree, over many batches and on a releasing file
// mapping too; pages other than 4 KiB take the generic path.
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <xxhash.h>
#include <zlib.h>

#include "input/input.h"
#include "migscope/stream.h"
#include "ram/xbzrle.h"
#include "sinks/inorder_hasher.h"
#include "stream_builder.h"

namespace migscope {
namespace {

using test::StreamBuilder;
using Content = std::vector<std::byte>;

Content pattern(std::size_t n, std::uint64_t seed) {
  Content p(n);
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 7;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = static_cast<std::byte>(x >> 11);
  }
  return p;
}

// RAM records and, beside them, each block's final content.
struct Script {
  explicit Script(std::uint64_t page_size = 4096) : ps(page_size) {}
  std::uint64_t ps;
  StreamBuilder b;
  std::vector<std::string> names;
  std::map<std::string, Content> model;

  void blocks(std::initializer_list<StreamBuilder::Block> list) {
    b.ram_mem_size(list);
    for (const auto& blk : list) {
      names.push_back(blk.name);
      model[blk.name].assign(blk.length, std::byte{0});
    }
  }
  std::byte* at(const std::string& block, std::uint64_t page) { return model[block].data() + page * ps; }
  void page(std::uint64_t page, const std::string& block, const Content& c) {
    b.ram_header(page * ps, 0x08, block).raw(c);
    std::memcpy(at(block, page), c.data(), ps);
  }
  void zero(std::uint64_t page, const std::string& block, std::uint8_t fill = 0) {
    b.ram_zero(page * ps, block, fill);
    std::memset(at(block, page), fill, ps);
  }
  void xbzrle(std::uint64_t page, const std::string& block, const Content& next) {
    Content prev(at(block, page), at(block, page) + ps);
    Content delta(ps + ps / 64 + 16);
    long n = xbzrle_encode(prev, next, delta, ps);
    ASSERT_GT(n, 0);
    delta.resize(static_cast<std::size_t>(n));
    b.ram_xbzrle(page * ps, block, delta);
    std::memcpy(at(block, page), next.data(), ps);
  }
  void compressed(std::uint64_t page, const std::string& block, const Content& c) {
    uLongf len = compressBound(static_cast<uLong>(ps));
    Content z(len);
    ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(z.data()), &len, reinterpret_cast<const Bytef*>(c.data()),
                        static_cast<uLong>(ps), 6),
              Z_OK);
    z.resize(len);
    b.ram_compress(page * ps, block, z);
    std::memcpy(at(block, page), c.data(), ps);
  }
  void start(std::uint32_t page_bits = 0) {
    b.header().configuration("pc-q35-7.2");
    if (page_bits) b.config_target_page_bits(page_bits);
    b.section_start(2, "ram", 0, 4);
  }
};

struct Hashes {
  Status walk, finish;
  std::vector<bool> complete;
  std::vector<std::vector<std::uint64_t>> pages;  // complete blocks only
  std::vector<XXH128_hash_t> block;                // complete blocks only
  std::vector<std::uint64_t> zero_records;         // complete blocks only
};

Hashes hash_stream(Bytes bytes, bool threaded, std::size_t blocks, bool release_behind = false) {
  Hashes h;
  InOrderHasher hasher(bytes, threaded, release_behind);
  auto loc = locate_stream(bytes);
  EXPECT_TRUE(loc.ok());
  auto w = walk_stream(bytes, *loc, {}, hasher);
  if (!w.ok()) h.walk = w.error();
  h.finish = hasher.finish();
  for (std::size_t i = 0; i < blocks; ++i) {
    h.complete.push_back(hasher.complete(i));
    h.pages.emplace_back();
    h.block.push_back({});
    h.zero_records.push_back(0);
    if (!hasher.complete(i)) continue;
    std::uint64_t expect_page = 0;
    Status st = hasher.read_page_hashes(i, [&](std::uint64_t first, std::span<const std::uint64_t> hashes) {
      EXPECT_EQ(first, expect_page);
      expect_page += hashes.size();
      h.pages[i].insert(h.pages[i].end(), hashes.begin(), hashes.end());
    });
    h.zero_records[i] = hasher.zero_pages(i);
    EXPECT_TRUE(st.ok()) << st.error().message();
    h.block[i] = hasher.block_hash(i);
  }
  return h;
}

// A complete block's hashes must be libxxhash's over the model.
void expect_hashes_of(const Hashes& h, std::size_t i, const Content& content, std::uint64_t ps) {
  ASSERT_TRUE(h.complete[i]);
  const std::size_t pages = content.size() / ps;
  ASSERT_EQ(h.pages[i].size(), pages);
  for (std::size_t p = 0; p < pages; ++p)
    ASSERT_EQ(h.pages[i][p], XXH3_64bits(content.data() + p * ps, static_cast<std::size_t>(ps))) << "page " << p;
  const XXH128_hash_t want = XXH3_128bits(content.data(), content.size());
  EXPECT_EQ(h.block[i].low64, want.low64);
  EXPECT_EQ(h.block[i].high64, want.high64);
}

TEST(InOrderHasher, InOrderBlocksHashLikeXxh3) {
  constexpr std::uint64_t P = 4096;
  Script s;
  s.start();
  s.blocks({{"pc.ram", 12 * P}, {"one", P}, {"two", 2 * P}});
  s.b.ram_eos().footer(2);
  s.b.section_part(2);
  s.page(0, "pc.ram", pattern(P, 1));
  s.zero(0, "one");
  s.zero(1, "pc.ram");
  s.page(0, "two", pattern(P, 2));
  s.zero(2, "pc.ram", 0x5a);        // a non-zero fill is that byte repeated
  s.page(3, "pc.ram", Content(P));  // data that happens to be zero
  s.page(4, "pc.ram", pattern(P, 3));
  s.b.ram_eos().footer(2);
  s.b.section_end(2);
  s.page(1, "two", pattern(P, 4));
  for (std::uint64_t p = 5; p < 11; ++p) s.page(p, "pc.ram", pattern(P, 10 + p));
  s.zero(11, "pc.ram", 0xff);
  s.b.ram_eos().footer(2).eof();
  for (bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "threaded" : "unthreaded");
    Hashes h = hash_stream(s.b.vec(), threaded, 3);
    ASSERT_TRUE(h.walk.ok()) << h.walk.error().message();
    ASSERT_TRUE(h.finish.ok()) << h.finish.error().message();
    for (std::size_t i = 0; i < 3; ++i) {
      SCOPED_TRACE(s.names[i]);
      expect_hashes_of(h, i, s.model[s.names[i]], P);
    }
    // Zero records with fill 0 only: not a non-zero fill, not data that is zero.
    EXPECT_EQ(h.zero_records[0], 1u);
    EXPECT_EQ(h.zero_records[1], 1u);
    EXPECT_EQ(h.zero_records[2], 0u);
  }
}

TEST(InOrderHasher, LargeBlockAcrossBatchesAgreesThreadedAndUnthreaded) {
  // 10000 pages: several walker batches, and more page hashes than the
  // hasher keeps in memory before spilling them to its temporary file.
  constexpr std::uint64_t P = 4096, N = 10000;
  Script s;
  s.start();
  s.blocks({{"pc.ram", N * P}});
  s.b.ram_eos().footer(2);
  for (std::uint64_t p = 0; p < N; ++p) {
    if (p % 3000 == 0) {
      if (p) s.b.ram_eos().footer(2);
      s.b.section_part(2);
    }
    if (p % 37 == 0) s.page(p, "pc.ram", pattern(P, p));
    else if (p % 11 == 0) s.zero(p, "pc.ram", static_cast<std::uint8_t>(p | 1));
    else s.zero(p, "pc.ram");
  }
  s.b.ram_eos().footer(2).eof();
  Hashes a = hash_stream(s.b.vec(), false, 1);
  Hashes b = hash_stream(s.b.vec(), true, 1);
  ASSERT_TRUE(a.walk.ok()) << a.walk.error().message();
  ASSERT_TRUE(b.walk.ok()) << b.walk.error().message();
  expect_hashes_of(a, 0, s.model["pc.ram"], P);
  expect_hashes_of(b, 0, s.model["pc.ram"], P);
  EXPECT_EQ(a.pages[0], b.pages[0]);
}

TEST(InOrderHasher, InterleavedBlocksOverManyBatchesAgreeWithLibxxhash) {
  // Three blocks sent in interleaved runs over full walk batches (4096
  // records): the two hashing threads take chunks of every batch in turn and
  // the block streams are folded in order; dropping what was hashed from a
  // file mapping's resident set must not lose a page still to be hashed.
  constexpr std::uint64_t P = 4096, N = 12000;
  Script s;
  s.start();
  s.blocks({{"pc.ram", N * P}, {"vga.vram", N / 2 * P}, {"tail", 700 * P}});
  s.b.ram_eos().footer(2);
  s.b.section_part(2);
  std::uint64_t next[3] = {0, 0, 0};
  const std::uint64_t pages[3] = {N, N / 2, 700};
  for (std::uint64_t run = 0;; ++run) {
    bool any = false;
    for (int k = 0; k < 3; ++k) {
      const std::string name = s.names[static_cast<std::size_t>(k)];
      for (std::uint64_t i = 0; i < 333 + 100 * static_cast<std::uint64_t>(k) && next[k] < pages[k]; ++i, ++next[k]) {
        const std::uint64_t p = next[k];
        if ((p + static_cast<std::uint64_t>(k)) % 3 == 0) s.page(p, name, pattern(P, p * 4 + static_cast<std::uint64_t>(k)));
        else if (p % 7 == 0) s.zero(p, name, 0x42);
        else s.zero(p, name);
        any = true;
      }
    }
    if (!any) break;
  }
  s.b.ram_eos().footer(2).eof();
  char path[] = "/tmp/migscope-inorder-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const auto& v = s.b.vec();
  ASSERT_EQ(::write(fd, v.data(), v.size()), static_cast<ssize_t>(v.size()));
  ::close(fd);
  auto file = InputFile::open(path);
  ::unlink(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  for (int round = 0; round < 3; ++round) {
    for (bool threaded : {false, true}) {
      for (bool release : {false, true}) {
        SCOPED_TRACE(std::string(threaded ? "threaded" : "unthreaded") + (release ? ", releasing" : ""));
        Hashes h = hash_stream(file->bytes(), threaded, 3, release);
        ASSERT_TRUE(h.walk.ok()) << h.walk.error().message();
        ASSERT_TRUE(h.finish.ok()) << h.finish.error().message();
        for (std::size_t i = 0; i < 3; ++i) {
          SCOPED_TRACE(s.names[i]);
          expect_hashes_of(h, i, s.model[s.names[i]], P);
        }
      }
    }
  }
}

TEST(InOrderHasher, BlocksLeavingTheShapeAreIncomplete) {
  constexpr std::uint64_t P = 4096;
  Script s;
  s.start();
  s.blocks({{"fine", 3 * P},
            {"resent", 3 * P},
            {"resent-last", 3 * P},
            {"skipped", 3 * P},
            {"unfinished", 3 * P},
            {"never", 3 * P},
            {"xbzrle", 3 * P},
            {"compressed", 3 * P}});
  s.b.ram_eos().footer(2);
  s.b.section_part(2);
  for (std::uint64_t p = 0; p < 3; ++p) s.page(p, "fine", pattern(P, p));
  s.page(0, "resent", pattern(P, 10));
  s.page(1, "resent", pattern(P, 11));
  s.page(1, "resent", pattern(P, 12));
  s.page(2, "resent", pattern(P, 13));
  for (std::uint64_t p = 0; p < 3; ++p) s.page(p, "resent-last", pattern(P, 20 + p));
  s.zero(0, "skipped");
  s.zero(2, "skipped");
  s.zero(1, "skipped");
  s.zero(0, "unfinished");
  s.zero(1, "unfinished");
  s.page(0, "xbzrle", pattern(P, 30));
  Content sparse(P);
  sparse[100] = sparse[3000] = std::byte{0x31};
  s.xbzrle(1, "xbzrle", sparse);  // never sent before: onto zeros
  s.page(2, "xbzrle", pattern(P, 32));
  s.page(0, "compressed", pattern(P, 40));
  s.compressed(1, "compressed", pattern(P, 41));
  s.page(2, "compressed", pattern(P, 42));
  s.b.ram_eos().footer(2);
  s.b.section_end(2);
  s.page(2, "resent-last", pattern(P, 29));  // after the block was whole
  s.b.ram_eos().footer(2).eof();
  for (bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "threaded" : "unthreaded");
    Hashes h = hash_stream(s.b.vec(), threaded, s.names.size());
    ASSERT_TRUE(h.walk.ok()) << h.walk.error().message();
    ASSERT_TRUE(h.finish.ok()) << h.finish.error().message();
    expect_hashes_of(h, 0, s.model["fine"], P);
    for (std::size_t i = 1; i < s.names.size(); ++i) EXPECT_FALSE(h.complete[i]) << s.names[i];
  }
}

Script discard_stream(bool with_discard) {
  constexpr std::uint64_t P = 4096;
  Script s;
  s.start();
  s.blocks({{"pc.ram", 2 * P}, {"untouched", P}});
  s.b.ram_eos().footer(2);
  s.b.section_part(2);
  s.page(0, "pc.ram", pattern(P, 1));
  s.page(1, "pc.ram", pattern(P, 2));
  s.page(0, "untouched", pattern(P, 3));
  s.b.ram_eos().footer(2);
  if (with_discard) {
    StreamBuilder d;
    d.u8(0).counted("pc.ram").u8(0).be64(P).be64(P);
    s.b.command(6, d.bytes());
  }
  s.b.section_end(2).ram_eos().footer(2).eof();
  return s;
}

TEST(InOrderHasher, DiscardMakesEveryBlockIncomplete) {
  for (bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "threaded" : "unthreaded");
    Hashes with = hash_stream(discard_stream(true).b.vec(), threaded, 2);
    ASSERT_TRUE(with.walk.ok()) << with.walk.error().message();
    EXPECT_FALSE(with.complete[0]);
    EXPECT_FALSE(with.complete[1]);  // not named by the discard, incomplete all the same
    // The same stream without the discard: both blocks complete.
    Hashes without = hash_stream(discard_stream(false).b.vec(), threaded, 2);
    ASSERT_TRUE(without.walk.ok()) << without.walk.error().message();
    EXPECT_TRUE(without.complete[0]);
    EXPECT_TRUE(without.complete[1]);
  }
}

TEST(InOrderHasher, OtherPageSizesTakeTheGenericPath) {
  for (std::uint32_t bits : {13u, 14u, 16u}) {
    SCOPED_TRACE(bits);
    const std::uint64_t ps = std::uint64_t{1} << bits;
    Script s(ps);
    s.start(bits);
    s.blocks({{"mach-virt.ram", 4 * ps}, {"flash", ps}, {"gap", 2 * ps}});
    s.b.ram_eos().footer(2);
    s.b.section_part(2);
    s.page(0, "mach-virt.ram", pattern(ps, 1));
    s.zero(1, "mach-virt.ram");
    s.zero(0, "flash", 0x11);
    s.page(1, "gap", pattern(ps, 5));  // page 0 never sent
    s.b.ram_eos().footer(2);
    s.b.section_end(2);
    s.page(2, "mach-virt.ram", pattern(ps, 2));
    s.page(3, "mach-virt.ram", pattern(ps, 3));
    s.b.ram_eos().footer(2).eof();
    for (bool threaded : {false, true}) {
      SCOPED_TRACE(threaded ? "threaded" : "unthreaded");
      Hashes h = hash_stream(s.b.vec(), threaded, 3);
      ASSERT_TRUE(h.walk.ok()) << h.walk.error().message();
      ASSERT_TRUE(h.finish.ok()) << h.finish.error().message();
      expect_hashes_of(h, 0, s.model["mach-virt.ram"], ps);
      expect_hashes_of(h, 1, s.model["flash"], ps);
      EXPECT_FALSE(h.complete[2]);
    }
  }
}

}  // namespace
}  // namespace migscope
