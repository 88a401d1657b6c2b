// XBZRLE: QEMU's acceptance rules and a round trip through our encoder.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ram/xbzrle.h"

namespace migscope {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

TEST(Xbzrle, AppliesRunsOntoThePreviousContent) {
  std::vector<std::byte> page(16, std::byte{0x11});
  // zrun 2, nzrun 3 "abc", zrun 4, nzrun 1 "z"; the final zero run is implied.
  auto delta = bytes({2, 3, 'a', 'b', 'c', 4, 1, 'z'});
  ASSERT_TRUE(xbzrle_decode(delta, page, 100).ok());
  std::vector<std::byte> expect(16, std::byte{0x11});
  expect[2] = std::byte{'a'};
  expect[3] = std::byte{'b'};
  expect[4] = std::byte{'c'};
  expect[9] = std::byte{'z'};
  EXPECT_EQ(page, expect);
}

TEST(Xbzrle, TwoByteRunLengths) {
  std::vector<std::byte> page(4096, std::byte{0});
  // zrun 0x100 = 0x80|0x00, 0x02; nzrun 1.
  auto delta = bytes({0x80, 0x02, 1, 0x5a});
  ASSERT_TRUE(xbzrle_decode(delta, page, 0).ok());
  EXPECT_EQ(page[0x100], std::byte{0x5a});
  EXPECT_EQ(page[0xff], std::byte{0});
}

TEST(Xbzrle, RejectsWhatQemuRejects) {
  std::vector<std::byte> page(16);
  struct Case {
    std::vector<std::byte> delta;
    const char* why;
  } cases[] = {
      {bytes({2, 0}), "empty data run"},
      {bytes({17, 1, 'x'}), "zero run past the end"},
      {bytes({14, 3, 'a', 'b', 'c'}), "data run past the end of the page"},
      {bytes({0, 4, 'a', 'b'}), "data run past the end of the delta"},
      {bytes({0, 1, 'a', 0, 1, 'b'}), "empty zero run after the first"},
      {bytes({0x80, 0x80, 1, 'a'}), "invalid two-byte length"},
      {bytes({3}), "only one byte left"},
  };
  for (const auto& c : cases) {
    Status s = xbzrle_decode(c.delta, page, 1000);
    ASSERT_FALSE(s.ok()) << c.why;
    EXPECT_EQ(s.error().code, ErrorCode::corrupt) << c.why;
    EXPECT_GE(s.error().offset, 1000u) << c.why;
    EXPECT_LE(s.error().offset, 1000u + c.delta.size()) << c.why;
  }
}

TEST(Xbzrle, EncodeDecodeRoundTrip) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::byte> prev(4096), next;
    for (auto& b : prev) b = static_cast<std::byte>(rng());
    next = prev;
    int changes = static_cast<int>(rng() % 40);
    for (int i = 0; i < changes; ++i) {
      std::size_t at = rng() % 4096, len = 1 + rng() % 64;
      for (std::size_t k = at; k < std::min<std::size_t>(4096, at + len); ++k) next[k] = static_cast<std::byte>(rng());
    }
    std::vector<std::byte> enc(4096 + 4096 / 64 + 16);
    long n = xbzrle_encode(prev, next, enc, 4096);
    if (n < 0) continue;  // would not fit: QEMU sends a normal page
    std::vector<std::byte> decoded = prev;
    ASSERT_TRUE(xbzrle_decode({enc.data(), static_cast<std::size_t>(n)}, decoded, 0).ok()) << round;
    EXPECT_EQ(decoded, next) << round;
  }
}

}  // namespace
}  // namespace migscope
