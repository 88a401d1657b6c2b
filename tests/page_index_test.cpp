// The page index and resolver on synthetic streams: the last record of a page
// wins; XBZRLE applies onto whatever came before (chains, never-sent pages);
// zlib pages inflate; postcopy discards zero a page; fills are honoured.
#include <gtest/gtest.h>

#include <vector>
#include <zlib.h>

#include "input/input.h"
#include "ram/page_index.h"
#include "ram/xbzrle.h"
#include "migscope/stream.h"
#include "stream_builder.h"

namespace migscope {
namespace {

using test::StreamBuilder;
constexpr std::uint64_t P = 4096;

std::vector<std::byte> page_of(std::uint8_t v) { return std::vector<std::byte>(P, std::byte{v}); }

std::vector<std::byte> delta(const std::vector<std::byte>& from, const std::vector<std::byte>& to) {
  std::vector<std::byte> out(P + P / 64 + 16);
  long n = xbzrle_encode(from, to, out, P);
  EXPECT_GT(n, 0);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::vector<std::byte> deflate_page(const std::vector<std::byte>& page) {
  uLongf len = compressBound(P);
  std::vector<std::byte> out(len);
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(out.data()), &len, reinterpret_cast<const Bytef*>(page.data()), P, 1), Z_OK);
  out.resize(len);
  return out;
}

struct Indexed {
  std::vector<std::byte> bytes;
  std::unique_ptr<PageIndex> index;
};

Indexed index_of(StreamBuilder& b) {
  Indexed r;
  r.bytes = b.vec();
  r.index = std::make_unique<PageIndex>(Bytes(r.bytes));
  auto loc = locate_stream(r.bytes);
  EXPECT_TRUE(loc.ok());
  auto w = walk_stream(r.bytes, *loc, {}, *r.index);
  EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message());
  return r;
}

std::vector<std::byte> content(Indexed& x, std::size_t block, std::uint64_t page) {
  PageResolver res(x.bytes, *x.index);
  std::vector<std::byte> scratch(P);
  auto p = res.resolve(x.index->entry(block, page), scratch.data());
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message());
  return p.ok() ? std::vector<std::byte>(*p, *p + P) : std::vector<std::byte>{};
}

StreamBuilder& ram_start(StreamBuilder& b) {
  b.header().section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 8 * P}}).ram_eos().footer(2);
  return b;
}

TEST(PageIndex, LastRecordWinsAndEveryKindResolves) {
  auto base = page_of(0x11);
  auto changed = base;
  changed[100] = std::byte{0x99};
  changed[4000] = std::byte{0x42};
  auto twice = changed;
  twice[7] = std::byte{0x07};
  auto sparse = page_of(0);
  sparse[10] = sparse[2000] = std::byte{0x33};
  std::vector<std::byte> zpage(P);
  for (std::size_t i = 0; i < P; ++i) zpage[i] = static_cast<std::byte>(i * 7);

  StreamBuilder b;
  ram_start(b);
  b.section_part(2)
      .ram_page(0, "pc.ram", 0x11)        // page 0: data, later xbzrle twice
      .ram_page(P, "", 0x22)              // page 1: data, later zero
      .ram_zero(2 * P, "", 0x5a)          // page 2: zero record with a non-zero fill (7.2 memsets it)
      .ram_compress(3 * P, "", deflate_page(zpage))
      .ram_eos()
      .footer(2)
      .section_end(2)
      .ram_xbzrle(0, "pc.ram", delta(base, changed))
      .ram_xbzrle(0, "", delta(changed, twice))
      .ram_zero(P, "")
      .ram_xbzrle(5 * P, "", delta(page_of(0), sparse))  // never sent before: applies onto zeros
      .ram_eos()
      .footer(2)
      .eof();
  Indexed x = index_of(b);
  ASSERT_EQ(x.index->block_count(), 1u);
  EXPECT_EQ(content(x, 0, 0), twice);
  EXPECT_EQ(content(x, 0, 1), page_of(0));
  EXPECT_EQ(content(x, 0, 2), page_of(0x5a));
  EXPECT_EQ(content(x, 0, 3), zpage);
  EXPECT_EQ(content(x, 0, 5), sparse);
  EXPECT_EQ(x.index->entry(0, 4), 0u);  // never sent
  EXPECT_EQ(PageEntry::kind(x.index->entry(0, 1)), PageEntry::zero);
}

TEST(PageIndex, PostcopyDiscardZeroesSentPages) {
  StreamBuilder b;
  ram_start(b);
  b.section_part(2).ram_page(0, "pc.ram", 0x11).ram_page(P, "", 0x22).ram_eos().footer(2);
  // u8 version 0, counted "pc.ram", u8 0, then be64 start, be64 length (bytes).
  StreamBuilder discard;
  discard.u8(0).counted("pc.ram").u8(0).be64(P).be64(P);
  b.command(6, discard.bytes()).section_end(2).ram_eos().footer(2).eof();
  Indexed x = index_of(b);
  EXPECT_EQ(content(x, 0, 0), page_of(0x11));
  EXPECT_EQ(content(x, 0, 1), page_of(0));
}

TEST(PageIndex, CorruptZlibAndXbzrleAreReportedAtTheirOffset) {
  std::vector<std::byte> junk(20, std::byte{0x78});
  std::vector<std::byte> bad_delta = {std::byte{0}, std::byte{0x7f}, std::byte{1}};  // data run past the delta
  StreamBuilder b;
  ram_start(b);
  const std::uint64_t zlib_at = b.offset() + 5 + 8 + 7 + 4;  // PART header, record header, name, be32 length
  b.section_part(2).ram_compress(0, "pc.ram", junk).ram_xbzrle(P, "", bad_delta).ram_eos().footer(2).eof();
  Indexed x = index_of(b);
  PageResolver res(x.bytes, *x.index);
  std::vector<std::byte> scratch(P);
  auto z = res.resolve(x.index->entry(0, 0), scratch.data());
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(z.error().code, ErrorCode::corrupt);
  EXPECT_EQ(z.error().offset, zlib_at);
  auto d = res.resolve(x.index->entry(0, 1), scratch.data());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::corrupt);
  EXPECT_GT(d.error().offset, zlib_at);
  EXPECT_LT(d.error().offset, x.bytes.size());
}

TEST(PageIndex, HugeBlocksAreRefusedNotAllocated) {
  StreamBuilder b;
  b.header().section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", std::uint64_t{1} << 62}}).ram_eos().footer(2).eof();
  std::vector<std::byte> bytes = b.vec();
  PageIndex index{Bytes(bytes)};
  auto w = walk_stream(bytes, *locate_stream(bytes), {}, index);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ErrorCode::unsupported);
  EXPECT_NE(w.error().detail.find("more than migscope can index"), std::string::npos) << w.error().detail;
}

}  // namespace
}  // namespace migscope
