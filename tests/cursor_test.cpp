// The cursor: bounds, truncation errors with offsets and the record name,
// counted strings, sub-cursors and seek limits.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stream_builder.h"
#include "wire/cursor.h"
#include "migscope/error.h"

namespace migscope {
namespace {

using test::StreamBuilder;

TEST(Cursor, ReadsBigEndianFieldsAndTracksFileOffsets) {
  StreamBuilder b;
  b.u8(0x7f).be16(0x1234).be32(0xdeadbeef).be64(0x0102030405060708ull).raw("xyz");
  Cursor c(b.bytes(), 0x1000);
  EXPECT_EQ(c.offset(), 0x1000u);
  EXPECT_EQ(c.remaining(), b.size());
  EXPECT_EQ(*c.read_u8("a"), 0x7f);
  EXPECT_EQ(*c.read_be16("b"), 0x1234);
  EXPECT_EQ(c.offset(), 0x1003u);
  EXPECT_EQ(*c.read_be32("c"), 0xdeadbeefu);
  EXPECT_EQ(*c.read_be64("d"), 0x0102030405060708ull);
  auto rest = c.read_bytes(3, "e");
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(as_chars(*rest), "xyz");
  // The slice points into the buffer: no copy.
  EXPECT_EQ(rest->data(), b.bytes().data() + 15);
  EXPECT_TRUE(c.at_end());
  EXPECT_EQ(c.offset(), 0x1000u + b.size());
  EXPECT_EQ(c.offset_of(b.bytes().data() + 4), 0x1004u);
}

TEST(Cursor, TruncatedReadReportsOffsetWhatAndCountsWithoutMoving) {
  StreamBuilder b;
  b.be32(1).u8(2).u8(3).u8(4);
  Cursor c(b.bytes(), 0x20);
  ASSERT_TRUE(c.read_be32("first").ok());
  auto r = c.read_be64("RAM record header");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::truncated);
  EXPECT_EQ(r.error().offset, 0x24u);
  EXPECT_NE(r.error().detail.find("RAM record header"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("need 8 bytes"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("3 left"), std::string::npos) << r.error().detail;
  EXPECT_EQ(r.error().message().rfind("at 0x24: truncated: ", 0), 0u) << r.error().message();
  // A failed read does not advance.
  EXPECT_EQ(c.offset(), 0x24u);
  EXPECT_EQ(*c.read_u8("x"), 2);
}

TEST(Cursor, SingularByteWordingAndEveryCheckedRead) {
  Cursor empty(Bytes{}, 7);
  auto r8 = empty.read_u8("section type byte");
  ASSERT_FALSE(r8.ok());
  EXPECT_NE(r8.error().detail.find("need 1 byte, 0 left"), std::string::npos) << r8.error().detail;
  EXPECT_EQ(r8.error().offset, 7u);
  EXPECT_FALSE(empty.read_be16("w").ok());
  EXPECT_FALSE(empty.read_be32("w").ok());
  EXPECT_FALSE(empty.read_bytes(1, "w").ok());
  EXPECT_FALSE(empty.peek_u8("w").ok());
  EXPECT_TRUE(empty.read_bytes(0, "nothing").ok());
  EXPECT_TRUE(empty.need(0, "nothing").ok());
}

TEST(Cursor, PeekDoesNotAdvance) {
  StreamBuilder b;
  b.u8(0x05).u8(0x06);
  Cursor c(b.bytes());
  EXPECT_EQ(*c.peek_u8("p"), 0x05);
  EXPECT_EQ(*c.peek_u8("p"), 0x05);
  EXPECT_EQ(c.offset(), 0u);
  EXPECT_EQ(*c.read_u8("p"), 0x05);
  EXPECT_EQ(*c.peek_u8("p"), 0x06);
}

TEST(Cursor, NeedGuardsHugeCountsWithoutOverflow) {
  StreamBuilder b;
  b.fill(16, 0);
  Cursor c(b.bytes());
  auto s = c.need(SIZE_MAX, "huge");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::truncated);
  EXPECT_FALSE(c.read_bytes(SIZE_MAX, "huge").ok());
  EXPECT_FALSE(c.sub(17, "one too many").ok());
  EXPECT_EQ(c.remaining(), 16u);
}

TEST(Cursor, CountedString) {
  StreamBuilder b;
  b.counted("pc.ram").counted("").u8(5).raw("ab");
  Cursor c(b.bytes(), 100);
  EXPECT_EQ(*c.read_counted_string("block"), "pc.ram");
  EXPECT_EQ(*c.read_counted_string("block"), "");
  std::uint64_t before = c.offset();
  auto r = c.read_counted_string("section name");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::truncated);
  EXPECT_EQ(r.error().offset, before);
  EXPECT_NE(r.error().detail.find("section name"), std::string::npos);
  EXPECT_NE(r.error().detail.find("need 6 bytes, 3 left"), std::string::npos) << r.error().detail;
  EXPECT_EQ(c.offset(), before);  // the length byte is not consumed on failure
}

TEST(Cursor, SubCursorIsBoundedAndKeepsFileOffsets) {
  StreamBuilder b;
  b.be32(0xaaaaaaaa).be32(0x11111111).be32(0x22222222).be32(0xbbbbbbbb);
  Cursor c(b.bytes(), 0x500);
  c.skip(4);
  auto sub = c.sub(8, "PACKAGED blob");
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(c.offset(), 0x50cu);  // the parent moved past the region
  EXPECT_EQ(sub->offset(), 0x504u);
  EXPECT_EQ(sub->remaining(), 8u);
  EXPECT_EQ(*sub->read_be32("a"), 0x11111111u);
  EXPECT_EQ(*sub->read_be32("b"), 0x22222222u);
  EXPECT_TRUE(sub->at_end());
  // The sub-cursor cannot read into the parent's next bytes.
  auto r = sub->read_u8("beyond the blob");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().offset, 0x50cu);
  EXPECT_EQ(*c.read_be32("parent"), 0xbbbbbbbbu);
}

TEST(Cursor, SeekWithinTheOriginalRangeOnly) {
  StreamBuilder b;
  b.fill(32, 0).u8(0x42);
  Cursor c(b.bytes(), 0x100);
  ASSERT_TRUE(c.seek(0x120, "x").ok());
  EXPECT_EQ(*c.read_u8("x"), 0x42);
  // Seeking back works too, and so does the exact end.
  ASSERT_TRUE(c.seek(0x100, "x").ok());
  EXPECT_EQ(c.offset(), 0x100u);
  ASSERT_TRUE(c.seek(0x121, "end").ok());
  EXPECT_TRUE(c.at_end());
  auto past = c.seek(0x122, "mapped-ram block end");
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, ErrorCode::corrupt);
  EXPECT_NE(past.error().detail.find("mapped-ram block end"), std::string::npos);
  EXPECT_NE(past.error().detail.find("0x122"), std::string::npos) << past.error().detail;
  auto before = c.seek(0xff, "before");
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(c.offset(), 0x121u);  // failed seeks do not move
}

TEST(Cursor, SeekOfASubCursorIsLimitedToTheSubRange) {
  StreamBuilder b;
  b.fill(64, 0);
  Cursor c(b.bytes(), 0);
  c.skip(16);
  auto sub = c.sub(16, "region");
  ASSERT_TRUE(sub.ok());
  EXPECT_TRUE(sub->seek(16, "x").ok());
  EXPECT_TRUE(sub->seek(32, "x").ok());
  EXPECT_FALSE(sub->seek(33, "x").ok());
  EXPECT_FALSE(sub->seek(15, "x").ok());
  EXPECT_FALSE(sub->seek(~std::uint64_t{0}, "x").ok());
}

TEST(Error, MessageFormats) {
  Error e = make_error(ErrorCode::corrupt, 0x5f479, "section 'ram': bad");
  EXPECT_EQ(e.message(), "at 0x5f479: corrupt: section 'ram': bad");
  Error no = make_error(ErrorCode::io, Error::no_offset, "cannot open x");
  EXPECT_FALSE(no.has_offset());
  EXPECT_EQ(no.message(), "I/O error: cannot open x");
  EXPECT_EQ(error_code_name(ErrorCode::truncated), "truncated");
  EXPECT_EQ(error_code_name(ErrorCode::invalid_json), "invalid JSON");
}

Result<int> add_one(Result<int> in) {
  MIGSCOPE_ASSIGN(int v, std::move(in));
  return v + 1;
}

Status chain(Status in, int* reached) {
  MIGSCOPE_TRY(std::move(in));
  *reached = 1;
  return {};
}

TEST(Error, TryAndAssignPropagate) {
  EXPECT_EQ(*add_one(41), 42);
  auto r = add_one(make_error(ErrorCode::truncated, 3, "x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().offset, 3u);
  int reached = 0;
  EXPECT_FALSE(chain(make_error(ErrorCode::corrupt, 1, "y"), &reached).ok());
  EXPECT_EQ(reached, 0);
  EXPECT_TRUE(chain(Status{}, &reached).ok());
  EXPECT_EQ(reached, 1);
}

}  // namespace
}  // namespace migscope
