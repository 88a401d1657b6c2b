// The iterative section formats other than RAM and devices (stream/section_readers):
// each reader stops exactly at the end of its body, checks lengths against the
// bytes left, and names what it expected on damage.
#include <gtest/gtest.h>

#include "stream/section_readers.h"
#include "stream_builder.h"

namespace migscope {
namespace {

using test::StreamBuilder;

// Read `b` from file offset 100 with `reader`; the cursor's end position is in *end.
template <typename Reader>
Status read_all(const StreamBuilder& b, Reader reader, std::uint64_t* end) {
  Cursor c(b.bytes(), 100);
  Status st = reader(c);
  *end = c.offset();
  return st;
}

TEST(SectionReaders, HtabHeaderOnlyAndChunksUpToTheZeroChunk) {
  std::uint64_t end = 0;
  StreamBuilder shift;
  shift.be32(24).u8(0xee);  // first pass: htab_shift, nothing else
  ASSERT_TRUE(read_all(shift, read_htab, &end).ok());
  EXPECT_EQ(end, 104u);

  StreamBuilder chunks;
  chunks.be32(0).be32(7).be16(2).be16(1).fill(32, 0xcc).be32(9).be16(0).be16(3).be32(0).be16(0).be16(0).u8(0xee);
  ASSERT_TRUE(read_all(chunks, read_htab, &end).ok());
  EXPECT_EQ(end, 100u + 4 + 8 + 32 + 8 + 8);

  StreamBuilder cut;
  cut.be32(0).be32(7).be16(2).be16(0).fill(31, 0xcc);  // 2 entries announced, 31 bytes present
  Status st = read_all(cut, read_htab, &end);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::truncated);
  EXPECT_NE(st.error().detail.find("htab entries"), std::string::npos) << st.error().detail;
}

TEST(SectionReaders, StorageAttributesMoreDoneEosAndError) {
  std::uint64_t end = 0;
  StreamBuilder ok;
  ok.be64((5ull << 12) | 0x02).be64(3).raw("abc").be64(0x08).be64(0x01).u8(0xee);
  ASSERT_TRUE(read_all(ok, read_storage_attributes, &end).ok());
  EXPECT_EQ(end, 100u + 8 + 8 + 3 + 8 + 8);

  StreamBuilder error;
  error.be64(0x04);
  Status st = read_all(error, read_storage_attributes, &end);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::corrupt);
  EXPECT_EQ(st.error().offset, 100u);

  StreamBuilder too_many;
  too_many.be64(0x02).be64(1000).raw("abc");
  st = read_all(too_many, read_storage_attributes, &end);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::truncated);
  EXPECT_EQ(st.error().offset, 108u);  // the count

  StreamBuilder unknown;
  unknown.be64(0x40);
  st = read_all(unknown, read_storage_attributes, &end);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().detail.find("unknown flags 0x40"), std::string::npos) << st.error().detail;
}

TEST(SectionReaders, StorageKeysNeedExactFlags) {
  std::uint64_t end = 0;
  StreamBuilder ok;
  ok.be64((1ull << 12) | 0x02).be64(4).raw("kkkk").be64(0x01);
  ASSERT_TRUE(read_all(ok, read_storage_keys, &end).ok());
  EXPECT_EQ(end, 100u + 8 + 8 + 4 + 8);
  StreamBuilder both;
  both.be64(0x03);  // SKEYS and EOS at once is no record QEMU writes
  Status st = read_all(both, read_storage_keys, &end);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::corrupt);
  StreamBuilder err;
  err.be64(0x04);
  EXPECT_FALSE(read_all(err, read_storage_keys, &end).ok());
}

TEST(SectionReaders, DirtyBitmapChunks) {
  std::uint64_t end = 0;
  StreamBuilder b;
  // START with device and bitmap names, granularity + flags (5 bytes).
  b.u8(0x08 | 0x04 | 0x10).counted("drive0").counted("bitmap0").fill(5, 0);
  // BITS: start sector, count, buffer size + buffer.
  b.u8(0x40).be64(0).be32(128).be64(6).raw("bitmap");
  // ZEROES: no buffer.
  b.u8(0x40 | 0x02).be64(128).be32(128);
  // EOS
  b.u8(0x01).u8(0xee);
  ASSERT_TRUE(read_all(b, read_dirty_bitmap, &end).ok());
  EXPECT_EQ(end, 100u + (1 + 7 + 8 + 5) + (1 + 12 + 8 + 6) + (1 + 12) + 1);

  StreamBuilder extended;  // flags with the 0x80 extension byte, then EOS
  extended.u8(0x80).u8(0x01);
  ASSERT_TRUE(read_all(extended, read_dirty_bitmap, &end).ok());
  EXPECT_EQ(end, 102u);

  StreamBuilder nothing;
  nothing.u8(0x00);  // no flag at all
  Status st = read_all(nothing, read_dirty_bitmap, &end);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::corrupt);

  StreamBuilder oversized;
  oversized.u8(0x40).be64(0).be32(1).be64(1u << 30);
  st = read_all(oversized, read_dirty_bitmap, &end);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::truncated);
}

TEST(SectionReaders, BlockMigrationDeviceBlocksZeroBlocksProgressEos) {
  std::uint64_t end = 0;
  StreamBuilder b;
  b.be64((8ull << 9) | 0x01).counted("drive-virtio-disk0").fill(1u << 20, 0xab);  // DEVICE_BLOCK + 1 MiB
  b.be64((16ull << 9) | 0x01 | 0x08).counted("drive-virtio-disk0");             // ZERO_BLOCK: no data
  b.be64(0x04);                                                                  // PROGRESS
  b.be64(0x02).u8(0xee);                                                         // EOS
  ASSERT_TRUE(read_all(b, read_block_migration, &end).ok());
  EXPECT_EQ(end, 100u + (8 + 19 + (1u << 20)) + (8 + 19) + 8 + 8);

  StreamBuilder cut;
  cut.be64(0x01).counted("d").fill(1000, 0);
  Status st = read_all(cut, read_block_migration, &end);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::truncated);
  EXPECT_NE(st.error().detail.find("1 MiB"), std::string::npos) << st.error().detail;

  StreamBuilder unknown;
  unknown.be64(0x10);
  EXPECT_FALSE(read_all(unknown, read_block_migration, &end).ok());
}

TEST(SectionReaders, VfioEndsAtEndOfStateOrHandsTheConfigStateBack) {
  constexpr std::uint64_t kEnd = 0xffffffffef100001ull, kConfig = 0xffffffffef100002ull,
                          kSetup = 0xffffffffef100003ull, kData = 0xffffffffef100004ull;
  StreamBuilder data;
  data.be64(kSetup).be64(kData).be64(4).raw("dddd").be64(kEnd).u8(0xee);
  Cursor c(data.bytes(), 0);
  auto end = read_vfio(c);
  ASSERT_TRUE(end.ok()) << end.error().message();
  EXPECT_EQ(*end, VfioEnd::end_of_state);
  EXPECT_EQ(c.offset(), 8u + 8 + 8 + 4 + 8);

  StreamBuilder config;
  config.be64(kConfig).raw("pci config vmstate");
  Cursor cc(config.bytes(), 0);
  auto cfg = read_vfio(cc);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(*cfg, VfioEnd::config_state);
  EXPECT_EQ(cc.offset(), 8u);  // right after the marker: the caller finds the footer

  StreamBuilder unknown;
  unknown.be64(0x1234);
  Cursor cu(unknown.bytes(), 0);
  auto bad = read_vfio(cu);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail.find("unknown vfio marker 0x1234"), std::string::npos);

  StreamBuilder oversized;
  oversized.be64(kData).be64(100).raw("xx");
  Cursor co(oversized.bytes(), 0);
  auto big = read_vfio(co);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::truncated);
  EXPECT_EQ(big.error().offset, 8u);
}

}  // namespace
}  // namespace migscope
