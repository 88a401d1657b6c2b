// Byte order: big-endian loads and stores on every alignment.
#include <array>
#include <cstddef>
#include <cstdint>

#include <gtest/gtest.h>

#include "wire/endian.h"

namespace migscope {
namespace {

// 0x01 0x02 ... 0x10 placed at every offset 0..7 of an aligned buffer, so each
// load runs once on an aligned and seven times on an unaligned address.
class EndianTest : public ::testing::TestWithParam<std::size_t> {
 protected:
  void SetUp() override {
    buf_.fill(std::byte{0xee});
    for (std::size_t i = 0; i < 16; ++i) buf_[GetParam() + i] = static_cast<std::byte>(i + 1);
  }
  const std::byte* p() const { return buf_.data() + GetParam(); }
  alignas(16) std::array<std::byte, 32> buf_{};
};

TEST_P(EndianTest, LoadBigEndianAtAnyAlignment) {
  EXPECT_EQ(load_be16(p()), 0x0102u);
  EXPECT_EQ(load_be32(p()), 0x01020304u);
  EXPECT_EQ(load_be64(p()), 0x0102030405060708ull);
  EXPECT_EQ(load_be64(p() + 8), 0x090a0b0c0d0e0f10ull);
  EXPECT_EQ(load_be32(p() + 3), 0x04050607u);
}

TEST_P(EndianTest, LoadLittleEndian64AtAnyAlignment) {
  EXPECT_EQ(load_le64(p()), 0x0807060504030201ull);
}

TEST_P(EndianTest, StoreRoundTripsAndTouchesOnlyItsBytes) {
  std::byte* q = buf_.data() + GetParam();
  store_be64(q, 0xfedcba9876543210ull);
  EXPECT_EQ(static_cast<unsigned>(q[0]), 0xfeu);
  EXPECT_EQ(static_cast<unsigned>(q[7]), 0x10u);
  EXPECT_EQ(load_be64(q), 0xfedcba9876543210ull);
  EXPECT_EQ(static_cast<unsigned>(q[8]), 0x09u);  // the next byte is untouched
  store_be32(q + 1, 0xa1b2c3d4u);
  EXPECT_EQ(static_cast<unsigned>(q[0]), 0xfeu);
  EXPECT_EQ(static_cast<unsigned>(q[1]), 0xa1u);
  EXPECT_EQ(static_cast<unsigned>(q[4]), 0xd4u);
  EXPECT_EQ(static_cast<unsigned>(q[5]), 0x54u);  // from the be64 store
  EXPECT_EQ(load_be32(q + 1), 0xa1b2c3d4u);
  store_be16(q + 3, 0x0bcdu);
  EXPECT_EQ(static_cast<unsigned>(q[3]), 0x0bu);
  EXPECT_EQ(static_cast<unsigned>(q[4]), 0xcdu);
  EXPECT_EQ(load_be16(q + 3), 0x0bcdu);
  if (GetParam() > 0) {
    EXPECT_EQ(static_cast<unsigned>(buf_[GetParam() - 1]), 0xeeu);
  }
}

INSTANTIATE_TEST_SUITE_P(Offsets, EndianTest, ::testing::Range<std::size_t>(0, 8));

TEST(Endian, HighBitValuesAreUnsigned) {
  const std::array<std::byte, 8> ff{std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                                    std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xfe}};
  EXPECT_EQ(load_be16(ff.data()), 0xffffu);
  EXPECT_EQ(load_be32(ff.data() + 4), 0xfffffffeu);
  EXPECT_EQ(load_be64(ff.data()), 0xfffffffffffffffeull);
  EXPECT_EQ(load_le64(ff.data()), 0xfeffffffffffffffull);
}

TEST(Endian, MagicBytesLoadAsQevmConstant) {
  // QEMU's magic as it sits in a file.
  const std::array<std::byte, 4> qevm{std::byte{'Q'}, std::byte{'E'}, std::byte{'V'}, std::byte{'M'}};
  EXPECT_EQ(load_be32(qevm.data()), 0x5145564du);
}

}  // namespace
}  // namespace migscope
