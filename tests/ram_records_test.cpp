// The RAM section body parser, driven directly over built bytes: the MEM_SIZE
// block table (totals, duplicates, the block limit, x-ignore-shared, postcopy
// page sizes, mapped-ram headers), every page record kind with its bound
// checks, and the batches the visitor gets: in stream order, at most kBatch
// records each, payloads pointing into the input.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include "stream/ram_records.h"
#include "stream_builder.h"
#include "wire/cursor.h"

namespace migscope {
namespace {

using test::StreamBuilder;
constexpr std::uint64_t P = 4096;

bool contains(const std::string& s, std::string_view needle) { return s.find(needle) != std::string::npos; }

struct Recorder : StreamVisitor {
  std::vector<std::string> log;  // "blocks N" / "pages N", in call order
  std::vector<std::vector<RamBlock>> tables;
  std::vector<const SectionInfo*> sections;
  std::vector<PageRecord> pages;
  std::vector<std::size_t> batch_sizes;
  int fail_pages_at = -1;  // the on_pages call (0-based) that returns an error
  bool fail_blocks = false;

  Status on_ram_blocks(const SectionInfo& s, std::span<const RamBlock> b) override {
    log.push_back("blocks " + std::to_string(b.size()));
    tables.emplace_back(b.begin(), b.end());
    sections.push_back(&s);
    if (fail_blocks) return make_error(ErrorCode::io, 77, "visitor refused the blocks");
    return {};
  }
  Status on_pages(std::span<const RamBlock>, std::span<const PageRecord> p) override {
    log.push_back("pages " + std::to_string(p.size()));
    if (static_cast<int>(batch_sizes.size()) == fail_pages_at) {
      batch_sizes.push_back(p.size());
      return make_error(ErrorCode::io, 99, "visitor refused the pages");
    }
    batch_sizes.push_back(p.size());
    pages.insert(pages.end(), p.begin(), p.end());
    return {};
  }
};

SectionInfo ram_section() {
  SectionInfo s;
  s.id = 2;
  s.idstr = "ram";
  s.version_id = 4;
  s.kind = SectionKind::ram;
  return s;
}

// Parse one body of `b` from its start; `end` receives where the cursor stopped.
Status parse(RamParser& p, const StreamBuilder& b, Recorder& r, std::uint64_t* end = nullptr) {
  SectionInfo info = ram_section();
  Cursor c(b.bytes(), 0);
  Status s = p.parse_body(c, info, r);
  if (end) *end = c.offset();
  return s;
}

RamOptions page_options(std::uint64_t page_size = P) {
  RamOptions o;
  o.page_size = page_size;
  return o;
}

// ---------------------------------------------------------------------------
// MEM_SIZE

TEST(RamRecords, MemSizeAnnouncesTheBlockTableOnceAndEosEndsTheBody) {
  StreamBuilder b;
  b.ram_mem_size({{"pc.ram", 8 * P}, {"vga.vram", 2 * P}});
  const std::uint64_t second_entry = 8 + 7 + 8;
  b.ram_eos();
  const std::uint64_t eos_end = b.offset();
  b.raw("not RAM records");  // what follows EOS is not the body's
  RamParser p(page_options());
  Recorder r;
  SectionInfo info = ram_section();
  Cursor c(b.bytes(), 0);
  Status s = p.parse_body(c, info, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(c.offset(), eos_end);
  EXPECT_EQ(c.remaining(), 15u);
  ASSERT_EQ(r.log, (std::vector<std::string>{"blocks 2"}));
  EXPECT_EQ(r.sections[0], &info);
  const auto& t = r.tables[0];
  EXPECT_EQ(t[0].name, "pc.ram");
  EXPECT_EQ(t[0].length, 8 * P);
  EXPECT_EQ(t[0].header_offset, 8u);
  EXPECT_EQ(t[0].target_page_size, P);
  EXPECT_EQ(t[0].page_size, 0u);
  EXPECT_FALSE(t[0].guest_addr.has_value());
  EXPECT_FALSE(t[0].mapped_ram);
  EXPECT_EQ(t[1].name, "vga.vram");
  EXPECT_EQ(t[1].length, 2 * P);
  EXPECT_EQ(t[1].header_offset, second_entry);
  // The names are views of the input, not copies.
  EXPECT_EQ(static_cast<const void*>(t[1].name.data()), static_cast<const void*>(b.bytes().data() + second_entry + 1));
  ASSERT_EQ(p.blocks().size(), 2u);
  EXPECT_EQ(p.find_block("vga.vram").value_or(9), 1u);
  EXPECT_EQ(p.find_block("pc.ram").value_or(9), 0u);
  EXPECT_FALSE(p.find_block("pc").has_value());
  EXPECT_TRUE(r.pages.empty());
}

TEST(RamRecords, BlockLengthExceedingTheTotalIsCorrupt) {
  {
    StreamBuilder b;
    b.be64(P | 0x04).counted("pc.ram").be64(2 * P).ram_eos();
    RamParser p(page_options());
    Recorder r;
    Status s = parse(p, b, r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::corrupt);
    EXPECT_EQ(s.error().offset, 8u + 7);  // the length field
    EXPECT_TRUE(contains(s.error().detail, "'pc.ram'")) << s.error().detail;
    EXPECT_TRUE(contains(s.error().detail, "exceeds")) << s.error().detail;
    EXPECT_TRUE(r.log.empty());
  }
  {
    // The first block fits; the second is longer than what remains.
    StreamBuilder b;
    b.be64(3 * P | 0x04).counted("a").be64(2 * P);
    const std::uint64_t second_length = b.offset() + 2;
    b.counted("b").be64(2 * P).ram_eos();
    RamParser p(page_options());
    Recorder r;
    Status s = parse(p, b, r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::corrupt);
    EXPECT_EQ(s.error().offset, second_length);
    EXPECT_TRUE(contains(s.error().detail, "'b'")) << s.error().detail;
    EXPECT_TRUE(contains(s.error().detail, "0x1000 of 0x3000")) << s.error().detail;
    EXPECT_TRUE(r.log.empty());
  }
}

TEST(RamRecords, DuplicateBlockNamesAreCorrupt) {
  StreamBuilder b;
  b.be64(3 * P | 0x04).counted("pc.ram").be64(P).counted("vga").be64(P);
  const std::uint64_t dup_at = b.offset();
  b.counted("pc.ram").be64(P).ram_eos();
  RamParser p(page_options());
  Recorder r;
  Status s = parse(p, b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
  EXPECT_EQ(s.error().offset, dup_at);
  EXPECT_TRUE(contains(s.error().detail, "'pc.ram' announced twice")) << s.error().detail;
  EXPECT_TRUE(r.log.empty());
}

TEST(RamRecords, LaterMemSizeAppendsBlocksAndRefusesKnownNames) {
  StreamBuilder body1;
  body1.ram_mem_size({{"pc.ram", 4 * P}}).ram_zero(0, "pc.ram", 1).ram_eos();
  const std::uint64_t second = body1.offset();
  body1.ram_zero(P, "", 2);  // flushed before the second table is announced
  body1.ram_mem_size({{"hotplugged", 2 * P}}).ram_zero(P, "hotplugged", 3).ram_eos();
  RamParser p(page_options());
  Recorder r;
  SectionInfo info = ram_section();
  Cursor c(body1.bytes(), 0);
  ASSERT_TRUE(p.parse_body(c, info, r).ok());
  EXPECT_EQ(c.offset(), second);
  Status s = p.parse_body(c, info, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.log, (std::vector<std::string>{"blocks 1", "pages 1", "pages 1", "blocks 2", "pages 1"}));
  ASSERT_EQ(r.tables[1].size(), 2u);
  EXPECT_EQ(r.tables[1][0].name, "pc.ram");
  EXPECT_EQ(r.tables[1][1].name, "hotplugged");
  ASSERT_EQ(r.pages.size(), 3u);
  EXPECT_EQ(r.pages[1].block, 0u);
  EXPECT_EQ(r.pages[1].fill, 2);
  EXPECT_EQ(r.pages[2].block, 1u);
  EXPECT_EQ(r.pages[2].fill, 3);

  StreamBuilder again;
  again.ram_mem_size({{"hotplugged", 2 * P}}).ram_eos();
  Recorder r2;
  Status dup = parse(p, again, r2);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::corrupt);
  EXPECT_EQ(dup.error().offset, 8u);
  EXPECT_TRUE(contains(dup.error().detail, "announced twice")) << dup.error().detail;
}

StreamBuilder many_blocks(std::uint32_t n, std::uint64_t* last_entry) {
  StreamBuilder b;
  b.be64((std::uint64_t{n} * P) | 0x04);
  for (std::uint32_t i = 0; i < n; ++i) {
    *last_entry = b.offset();
    b.counted("block" + std::to_string(i)).be64(P);
  }
  b.ram_eos();
  return b;
}

TEST(RamRecords, AtMost65536BlocksAreAccepted) {
  std::uint64_t last = 0;
  StreamBuilder ok = many_blocks(65536, &last);
  RamParser p(page_options());
  Recorder r;
  Status s = parse(p, ok, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.tables.size(), 1u);
  ASSERT_EQ(r.tables[0].size(), 65536u);
  EXPECT_EQ(r.tables[0].back().name, "block65535");
  EXPECT_EQ(p.find_block("block65535").value_or(0), 65535u);

  StreamBuilder over = many_blocks(65537, &last);
  RamParser p2(page_options());
  Recorder r2;
  Status s2 = parse(p2, over, r2);
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.error().code, ErrorCode::corrupt);
  EXPECT_EQ(s2.error().offset, last);
  EXPECT_TRUE(contains(s2.error().detail, "more than 65536 RAM blocks")) << s2.error().detail;
  EXPECT_TRUE(r2.log.empty());
}

TEST(RamRecords, IgnoreSharedReadsAGuestAddressPerBlock) {
  StreamBuilder b;
  b.ram_mem_size({{"pc.ram", 4 * P, 0x0}, {"/rom@etc/acpi/tables", 2 * P, 0xfffc0000}}).ram_zero(P, "pc.ram").ram_eos();
  RamOptions o = page_options();
  o.ignore_shared = true;
  RamParser p(o);
  Recorder r;
  Status s = parse(p, b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.tables[0].size(), 2u);
  EXPECT_EQ(r.tables[0][0].guest_addr.value_or(1), 0u);
  EXPECT_EQ(r.tables[0][1].guest_addr.value_or(0), 0xfffc0000u);
  ASSERT_EQ(r.pages.size(), 1u);
  EXPECT_EQ(r.pages[0].offset, P);
}

TEST(RamRecords, PostcopyPerBlockPageSizeIsReadWhenAdvised) {
  StreamBuilder b;
  b.ram_mem_size({{"pc.ram", 0x400000, std::nullopt, 0x200000}, {"small", P}}).ram_zero(0x200000, "pc.ram").ram_eos();
  RamOptions o = page_options();
  o.postcopy_page_sizes = 0x200000 | 0x1000;
  RamParser p(o);
  Recorder r;
  Status s = parse(p, b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.tables[0].size(), 2u);
  EXPECT_EQ(r.tables[0][0].page_size, 0x200000u);
  EXPECT_EQ(r.tables[0][1].name, "small");
  EXPECT_EQ(r.tables[0][1].page_size, 0u);
  // Without the advice the same bytes are not a block table: the page size
  // is read as the next entry's name.
  RamParser unadvised(page_options());
  Recorder r2;
  EXPECT_FALSE(parse(unadvised, b, r2).ok());
}

// ---------------------------------------------------------------------------
// page records

TEST(RamRecords, EveryRecordKindPointsIntoTheInput) {
  const std::vector<std::byte> delta{std::byte{0}, std::byte{2}, std::byte{0x11}, std::byte{0x22}};
  const std::vector<std::byte> zdata{std::byte{0x78}, std::byte{0x01}, std::byte{0x63}, std::byte{0x00}, std::byte{0x01}};
  StreamBuilder b;
  b.ram_mem_size({{"pc.ram", 8 * P}, {"vga.vram", 2 * P}});
  std::vector<std::uint64_t> at;
  at.push_back(b.offset());
  b.ram_zero(0, "pc.ram");
  at.push_back(b.offset());
  b.ram_zero(P, "", 0x5a);
  at.push_back(b.offset());
  b.ram_page(2 * P, "", 0x33);
  const std::uint64_t page_payload = b.offset() - P;
  b.ram_multifd_flush();  // not a record
  at.push_back(b.offset());
  b.ram_page(P, "vga.vram", 0x44);  // a named record switches what CONTINUE means
  const std::uint64_t vga_payload = b.offset() - P;
  at.push_back(b.offset());
  b.ram_xbzrle(0, "", delta);
  const std::uint64_t delta_payload = b.offset() - delta.size();
  at.push_back(b.offset());
  b.ram_compress(3 * P, "pc.ram", zdata);
  const std::uint64_t z_payload = b.offset() - zdata.size();
  b.ram_eos();
  RamParser p(page_options());
  Recorder r;
  std::uint64_t end = 0;
  Status s = parse(p, b, r, &end);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(end, b.size());
  ASSERT_EQ(r.log, (std::vector<std::string>{"blocks 2", "pages 6"}));
  const std::byte* base = b.bytes().data();
  const auto& pg = r.pages;
  ASSERT_EQ(pg.size(), 6u);
  for (std::size_t i = 0; i < pg.size(); ++i) EXPECT_EQ(pg[i].file_offset, at[i]) << i;
  EXPECT_EQ(pg[0].kind, PageKind::zero);
  EXPECT_EQ(pg[0].block, 0u);
  EXPECT_EQ(pg[0].fill, 0);
  EXPECT_TRUE(pg[0].payload.empty());
  EXPECT_EQ(pg[1].kind, PageKind::zero);
  EXPECT_EQ(pg[1].offset, P);
  EXPECT_EQ(pg[1].fill, 0x5a);
  EXPECT_EQ(pg[2].kind, PageKind::page);
  EXPECT_EQ(pg[2].offset, 2 * P);
  EXPECT_EQ(pg[2].payload.data(), base + page_payload);
  EXPECT_EQ(pg[2].payload.size(), P);
  EXPECT_EQ(pg[3].kind, PageKind::page);
  EXPECT_EQ(pg[3].block, 1u);
  EXPECT_EQ(pg[3].payload.data(), base + vga_payload);
  EXPECT_EQ(pg[4].kind, PageKind::xbzrle);
  EXPECT_EQ(pg[4].block, 1u);
  EXPECT_EQ(pg[4].offset, 0u);
  EXPECT_EQ(pg[4].payload.data(), base + delta_payload);
  EXPECT_EQ(pg[4].payload.size(), delta.size());
  EXPECT_EQ(pg[5].kind, PageKind::compressed);
  EXPECT_EQ(pg[5].block, 0u);
  EXPECT_EQ(pg[5].offset, 3 * P);
  EXPECT_EQ(pg[5].payload.data(), base + z_payload);
  EXPECT_EQ(pg[5].payload.size(), zdata.size());
}

TEST(RamRecords, LengthsAtTheirLimitsAreAccepted) {
  const std::vector<std::byte> full_delta(P, std::byte{0});
  const std::vector<std::byte> max_z(compressBound(P), std::byte{0x78});
  StreamBuilder b;
  b.ram_mem_size({{"pc.ram", 4 * P}});
  b.ram_xbzrle(0, "pc.ram", full_delta).ram_compress(P, "", max_z);
  b.ram_page(3 * P, "").ram_zero(3 * P, "pc.ram");  // the last page, continued and named
  b.ram_eos();
  RamParser p(page_options());
  Recorder r;
  Status s = parse(p, b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.pages.size(), 4u);
  EXPECT_EQ(r.pages[0].payload.size(), P);
  EXPECT_EQ(r.pages[1].payload.size(), compressBound(P));
  EXPECT_EQ(r.pages[2].offset, 3 * P);
  EXPECT_EQ(r.pages[3].offset, 3 * P);
}

struct BadRecord {
  const char* name;
  StreamBuilder record;
  std::uint64_t error_at;  // relative to the record's start
  ErrorCode code;
  const char* needle;
};

// A block "pc.ram" of 4 pages, one good named record, then the bad one.
TEST(RamRecords, BadRecordsAreRefusedWhereTheyAre) {
  std::vector<BadRecord> cases;
  cases.push_back({"unknown block", StreamBuilder().ram_zero(0, "nope"), 0, ErrorCode::corrupt, "'nope'"});
  cases.push_back({"named page past the end", StreamBuilder().ram_page(4 * P, "pc.ram"), 0, ErrorCode::corrupt,
                   "outside block 'pc.ram'"});
  cases.push_back({"continued page past the end", StreamBuilder().ram_page(4 * P, ""), 0, ErrorCode::corrupt,
                   "outside block 'pc.ram'"});
  cases.push_back({"continued zero far past the end", StreamBuilder().ram_zero(0x7fff0000, ""), 0, ErrorCode::corrupt,
                   "page offset 0x7fff0000"});
  cases.push_back({"xbzrle past the end", StreamBuilder().ram_xbzrle(5 * P, "", test::to_bytes("ab")), 0,
                   ErrorCode::corrupt, "outside block"});
  cases.push_back({"hook", StreamBuilder().be64(0x80), 0, ErrorCode::unsupported, "HOOK"});
  cases.push_back({"hook continued", StreamBuilder().be64(0xa0), 0, ErrorCode::unsupported, "HOOK"});
  cases.push_back({"full (obsolete)", StreamBuilder().be64(0x01), 0, ErrorCode::corrupt, "unknown RAM record flags 0x1"});
  cases.push_back({"zero and page", StreamBuilder().be64(0x2a), 0, ErrorCode::corrupt, "unknown RAM record flags 0x2a"});
  cases.push_back({"unassigned bit", StreamBuilder().be64(P | 0x400), 0, ErrorCode::corrupt, "flags 0x400"});
  cases.push_back({"high unassigned bit", StreamBuilder().be64(0x808), 0, ErrorCode::corrupt, "flags 0x808"});
  cases.push_back({"xbzrle encoding", StreamBuilder().ram_header(0, 0x40, "").u8(2).be16(1).u8(0), 8, ErrorCode::corrupt,
                   "XBZRLE encoding byte 0x2"});
  cases.push_back({"xbzrle longer than a page", StreamBuilder().ram_header(0, 0x40, "").u8(1).be16(P + 1), 9,
                   ErrorCode::corrupt, "XBZRLE length 4097 exceeds the page size 4096"});
  cases.push_back({"compressed longer than compressBound",
                   StreamBuilder().ram_header(0, 0x100, "").be32(static_cast<std::uint32_t>(compressBound(P) + 1)), 8,
                   ErrorCode::corrupt, "exceeds compressBound(4096)"});
  cases.push_back({"page cut short", StreamBuilder().ram_header(P, 0x08, "").fill(100, 1), 8, ErrorCode::truncated,
                   "RAM page"});
  cases.push_back({"xbzrle data cut short", StreamBuilder().ram_header(P, 0x40, "").u8(1).be16(50).fill(10, 1), 11,
                   ErrorCode::truncated, "XBZRLE data"});
  cases.push_back({"compressed data cut short", StreamBuilder().ram_header(P, 0x100, "").be32(50).fill(10, 1), 12,
                   ErrorCode::truncated, "compressed page"});
  cases.push_back({"header cut short", StreamBuilder().be32(0), 0, ErrorCode::truncated, "RAM record header"});
  cases.push_back({"block name cut short", StreamBuilder().be64(0x08).u8(6).raw("pc"), 8, ErrorCode::truncated,
                   "RAM block name"});
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    StreamBuilder b;
    b.ram_mem_size({{"pc.ram", 4 * P}}).ram_zero(0, "pc.ram");
    const std::uint64_t at = b.offset();
    b.raw(c.record.bytes());
    const bool cut = c.code == ErrorCode::truncated;
    if (!cut) b.ram_eos();
    RamParser p(page_options());
    Recorder r;
    Status s = parse(p, b, r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, c.code) << s.error().message();
    EXPECT_EQ(s.error().offset, at + c.error_at) << s.error().message();
    EXPECT_TRUE(contains(s.error().detail, c.needle)) << s.error().detail;
  }
}

TEST(RamRecords, ContinueWithoutAnEarlierBlockIsCorruptForEveryKind) {
  for (std::uint32_t type : {0x02u, 0x08u, 0x40u, 0x100u}) {
    SCOPED_TRACE(type);
    StreamBuilder b;
    b.ram_mem_size({{"pc.ram", 4 * P}});
    const std::uint64_t at = b.offset();
    b.be64(type | 0x20).fill(P + 8, 1).ram_eos();
    RamParser p(page_options());
    Recorder r;
    Status s = parse(p, b, r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::corrupt);
    EXPECT_EQ(s.error().offset, at);
    EXPECT_TRUE(contains(s.error().detail, "CONTINUE")) << s.error().detail;
  }
}

TEST(RamRecords, ContinueRefersToTheBlockOfAnEarlierBody) {
  StreamBuilder b;
  b.ram_mem_size({{"pc.ram", 4 * P}, {"vga", 4 * P}}).ram_zero(0, "vga").ram_eos();
  const std::uint64_t second = b.offset();
  b.ram_zero(2 * P, "").ram_eos();
  RamParser p(page_options());
  Recorder r;
  SectionInfo info = ram_section();
  Cursor c(b.bytes(), 0);
  ASSERT_TRUE(p.parse_body(c, info, r).ok());
  ASSERT_EQ(c.offset(), second);
  Status s = p.parse_body(c, info, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.pages.size(), 2u);
  EXPECT_EQ(r.pages[1].block, 1u);
  EXPECT_EQ(r.pages[1].offset, 2 * P);
  EXPECT_EQ(r.pages[1].file_offset, second);
}

TEST(RamRecords, FlagBitsFollowThePageSize) {
  // With 16 KiB pages, 0x2000 is a flag bit (unknown), not part of the address.
  StreamBuilder b;
  b.ram_mem_size({{"mach-virt.ram", 4 * 0x4000}});
  const std::uint64_t at = b.offset();
  b.ram_header(0x2000, 0x08, "mach-virt.ram").fill(0x4000, 1).ram_eos();
  RamParser big(page_options(0x4000));
  Recorder r;
  Status s = parse(big, b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().offset, at);
  EXPECT_TRUE(contains(s.error().detail, "flags 0x2008")) << s.error().detail;

  StreamBuilder ok;
  ok.ram_mem_size({{"mach-virt.ram", 4 * 0x4000}});
  ok.ram_page(0x4000, "mach-virt.ram", 0x5a, 0x4000).ram_page(3 * 0x4000, "", 0x5b, 0x4000).ram_eos();
  RamParser big2(page_options(0x4000));
  Recorder r2;
  Status s2 = parse(big2, ok, r2);
  ASSERT_TRUE(s2.ok()) << s2.error().message();
  ASSERT_EQ(r2.pages.size(), 2u);
  EXPECT_EQ(r2.pages[0].payload.size(), 0x4000u);
  EXPECT_EQ(r2.tables[0][0].target_page_size, 0x4000u);
  EXPECT_EQ(r2.pages[1].offset, 3u * 0x4000);
}

TEST(RamRecords, BodyWithoutEosIsTruncatedAtItsEnd) {
  StreamBuilder b;
  b.ram_mem_size({{"pc.ram", 4 * P}}).ram_zero(0, "pc.ram");
  RamParser p(page_options());
  Recorder r;
  Status s = parse(p, b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::truncated);
  EXPECT_EQ(s.error().offset, b.size());
  EXPECT_TRUE(contains(s.error().detail, "RAM record header")) << s.error().detail;
}

// ---------------------------------------------------------------------------
// batches

struct Expected {
  std::uint64_t file_offset, offset, payload;  // payload: offset in the input, 0 for zero pages
  PageKind kind;
  std::uint8_t fill;
};

// `n` records for block "pc.ram": mostly zero records (cheap), every 97th a page.
StreamBuilder batch_body(std::size_t n, std::vector<Expected>& want) {
  StreamBuilder b;
  b.ram_mem_size({{"pc.ram", 16384 * P}});
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t offset = (i * 7 % 16384) * P;
    const auto fill = static_cast<std::uint8_t>(i);
    const std::string_view name = i == 0 ? "pc.ram" : "";
    const std::uint64_t at = b.offset();
    if (i % 97 == 0) {
      b.ram_page(offset, name, fill);
      want.push_back({at, offset, b.offset() - P, PageKind::page, 0});
    } else {
      b.ram_zero(offset, name, fill);
      want.push_back({at, offset, 0, PageKind::zero, fill});
    }
  }
  b.ram_eos();
  return b;
}

TEST(RamRecords, RecordsArriveInBatchesOfAtMostKBatchInStreamOrder) {
  static_assert(RamParser::kBatch == 4096);
  std::vector<Expected> want;
  StreamBuilder b = batch_body(2 * RamParser::kBatch + 5, want);
  RamParser p(page_options());
  Recorder r;
  Status s = parse(p, b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(r.batch_sizes, (std::vector<std::size_t>{RamParser::kBatch, RamParser::kBatch, 5}));
  ASSERT_EQ(r.pages.size(), want.size());
  const std::byte* base = b.bytes().data();
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    const PageRecord& got = r.pages[i];
    ASSERT_EQ(got.file_offset, want[i].file_offset);
    ASSERT_EQ(got.offset, want[i].offset);
    ASSERT_EQ(got.kind, want[i].kind);
    ASSERT_EQ(got.block, 0u);
    if (want[i].kind == PageKind::page) {
      ASSERT_EQ(got.payload.data(), base + want[i].payload);  // the input's bytes, not a copy
      ASSERT_EQ(got.payload.size(), P);
    } else {
      ASSERT_EQ(got.fill, want[i].fill);
      ASSERT_TRUE(got.payload.empty());
    }
  }
}

TEST(RamRecords, AFullBatchIsNotFollowedByAnEmptyOne) {
  std::vector<Expected> want;
  StreamBuilder b = batch_body(RamParser::kBatch, want);
  RamParser p(page_options());
  Recorder r;
  ASSERT_TRUE(parse(p, b, r).ok());
  EXPECT_EQ(r.batch_sizes, (std::vector<std::size_t>{RamParser::kBatch}));
  EXPECT_EQ(r.pages.size(), RamParser::kBatch);
}

TEST(RamRecords, VisitorErrorsStopTheBody) {
  std::vector<Expected> want;
  StreamBuilder b = batch_body(2 * RamParser::kBatch + 5, want);
  RamParser p(page_options());
  Recorder r;
  r.fail_pages_at = 0;
  Status s = parse(p, b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::io);
  EXPECT_EQ(s.error().offset, 99u);
  EXPECT_EQ(r.batch_sizes, (std::vector<std::size_t>{RamParser::kBatch}));

  RamParser p2(page_options());
  Recorder r2;
  r2.fail_blocks = true;
  Status s2 = parse(p2, b, r2);
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.error().offset, 77u);
  EXPECT_TRUE(r2.batch_sizes.empty());
}

// ---------------------------------------------------------------------------
// mapped-ram

// MEM_SIZE with one mapped-ram block of 4 pages: header, bitmap at 64, pages
// at 4096, EOS after the pages. Bits 0 and 2 of the bitmap are set.
struct MappedLayout {
  StreamBuilder b;
  std::uint64_t bitmap = 64, pages = P;
};

MappedLayout mapped_stream(std::uint32_t version = 1, std::uint64_t header_page_size = P, std::uint64_t pages_at = P,
                           std::uint64_t bitmap_at = 64) {
  MappedLayout m;
  m.bitmap = bitmap_at;
  m.pages = pages_at;
  m.b.be64(4 * P | 0x04).counted("pc.ram").be64(4 * P);
  m.b.be32(version).be64(header_page_size).be64(bitmap_at).be64(pages_at);
  m.b.fill(64 - m.b.size(), 0).u8(0x05).fill(7, 0);
  m.b.fill(P - m.b.size(), 0);
  for (std::uint8_t i = 0; i < 4; ++i) m.b.fill(P, static_cast<std::uint8_t>(0xa0 + i));
  m.b.ram_eos();
  return m;
}

TEST(RamRecords, MappedRamPagesAreReportedFromTheBitmap) {
  MappedLayout m = mapped_stream();
  RamOptions o = page_options();
  o.mapped_ram = true;
  RamParser p(o);
  Recorder r;
  std::uint64_t end = 0;
  Status s = parse(p, m.b, r, &end);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(end, m.b.size());
  ASSERT_EQ(r.tables.size(), 1u);
  const RamBlock& blk = r.tables[0][0];
  EXPECT_TRUE(blk.mapped_ram);
  EXPECT_EQ(blk.bitmap_offset, m.bitmap);
  EXPECT_EQ(blk.pages_offset, m.pages);
  ASSERT_EQ(r.log, (std::vector<std::string>{"blocks 1", "pages 4"}));
  const std::byte* base = m.b.bytes().data();
  for (std::uint64_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    const PageRecord& pr = r.pages[i];
    EXPECT_EQ(pr.offset, i * P);
    if (i % 2 == 0) {
      EXPECT_EQ(pr.kind, PageKind::mapped);
      EXPECT_EQ(pr.payload.data(), base + m.pages + i * P);
      EXPECT_EQ(pr.payload.size(), P);
      EXPECT_EQ(static_cast<unsigned>(pr.payload[0]), 0xa0u + i);
      EXPECT_EQ(pr.file_offset, m.pages + i * P);
    } else {
      EXPECT_EQ(pr.kind, PageKind::zero);
      EXPECT_EQ(pr.file_offset, m.bitmap);
    }
  }
}

TEST(RamRecords, BadMappedRamHeadersAreRefused) {
  RamOptions o = page_options();
  o.mapped_ram = true;
  const std::uint64_t header = 8 + 7 + 8;  // the MappedRamHeader
  struct Case {
    const char* name;
    MappedLayout m;
    ErrorCode code;
    std::uint64_t at;
    const char* needle;
  };
  std::vector<Case> cases;
  cases.push_back({"version", mapped_stream(2), ErrorCode::unsupported, header, "version 2"});
  cases.push_back({"page size", mapped_stream(1, 2 * P), ErrorCode::corrupt, header + 4, "page size 8192"});
  cases.push_back({"unaligned pages", mapped_stream(1, P, P + 8), ErrorCode::corrupt, header + 20, "not page aligned"});
  cases.push_back({"pages past the end", mapped_stream(1, P, 4 * P), ErrorCode::truncated, header + 20, "beyond the end"});
  cases.push_back({"bitmap past the end", mapped_stream(1, P, P, 5 * P + 4), ErrorCode::truncated, header + 12,
                   "bitmap"});
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    RamParser p(o);
    Recorder r;
    Status s = parse(p, c.m.b, r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, c.code) << s.error().message();
    EXPECT_EQ(s.error().offset, c.at) << s.error().message();
    EXPECT_TRUE(contains(s.error().detail, c.needle)) << s.error().detail;
  }
}

TEST(RamRecords, PageRecordForAMappedRamBlockIsCorrupt) {
  MappedLayout m = mapped_stream();
  m.b.vec().pop_back();  // drop the EOS, put a record first
  for (int i = 0; i < 7; ++i) m.b.vec().pop_back();
  const std::uint64_t at = m.b.offset();
  m.b.ram_zero(0, "pc.ram").ram_eos();
  RamOptions o = page_options();
  o.mapped_ram = true;
  RamParser p(o);
  Recorder r;
  Status s = parse(p, m.b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
  EXPECT_EQ(s.error().offset, at);
  EXPECT_TRUE(contains(s.error().detail, "mapped-ram block 'pc.ram'")) << s.error().detail;
}

}  // namespace
}  // namespace migscope
