// The hash lines (sinks/page_hasher): a block the first pass hashed whole
// gets its lines from a fast path (offsets counted up as text, hex from a
// table) and must print exactly what the second pass prints for the same
// content, on every line, across every carry of the decimal offset, for
// 4 KiB and 64 KiB pages.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>
#include <xxhash.h>

#include "migscope/ops.h"
#include "stream_builder.h"

namespace migscope {
namespace {

namespace fs = std::filesystem;
using test::StreamBuilder;

// One block of `pages` pages of `ps` bytes, each sent once in order: zero
// records, with a data page every 9973 pages; `resend` sends page 5 again
// (same bytes) at the end, so the block leaves the one-pass shape and is
// hashed from the index instead.
std::vector<std::byte> stream(std::uint64_t ps, std::uint32_t page_bits, std::uint64_t pages, bool resend) {
  StreamBuilder b;
  b.header().configuration("pc-q35-7.2");
  if (page_bits) b.config_target_page_bits(page_bits);
  b.section_start(2, "ram", 0, 4);
  b.ram_mem_size({{"pc.ram", pages * ps}});
  b.ram_eos().footer(2);
  b.section_part(2);
  for (std::uint64_t p = 0; p < pages; ++p) {
    const std::string_view name = p == 0 ? "pc.ram" : "";
    if (p % 9973 == 5) b.ram_page(p * ps, name, static_cast<std::uint8_t>(p), ps);
    else b.ram_zero(p * ps, name);
  }
  if (resend) b.ram_page(5 * ps, "pc.ram", 5, ps);
  b.ram_eos().footer(2).eof();
  return b.vec();
}

std::string hash_text(const fs::path& path, unsigned threads) {
  auto dump = Dump::open(path.string());
  EXPECT_TRUE(dump.ok()) << (dump.ok() ? "" : dump.error().message());
  if (!dump.ok()) return {};
  std::string text;
  ops::HashOptions options;
  options.threads = threads;
  auto r = ops::hash(*dump, options, ops::TextOutput::to_string(text));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return text;
}

class PageHasherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("migscope-page-hasher-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::vector<std::byte>& bytes) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  fs::path dir_;
};

void expect_fast_path_equals_second_pass(const std::string& in_order, const std::string& resent, std::uint64_t ps,
                                         std::uint64_t pages) {
  ASSERT_FALSE(in_order.empty());
  EXPECT_EQ(in_order, resent);
  // And the lines are what they claim: offsets counting up by a page.
  std::size_t at = 0;
  for (std::uint64_t p = 0; p < pages; ++p) {
    const std::size_t nl = in_order.find('\n', at);
    ASSERT_NE(nl, std::string::npos) << "page " << p;
    const std::string want = "{\"block\":\"pc.ram\",\"offset\":" + std::to_string(p * ps) + ",\"xxh3\":\"";
    ASSERT_EQ(in_order.compare(at, want.size(), want), 0) << in_order.substr(at, nl - at);
    at = nl + 1;
  }
  EXPECT_NE(in_order.find("\"pages_sent\":" + std::to_string(pages) + ","), std::string::npos);
}

TEST_F(PageHasherTest, FirstPassLinesEqualSecondPassLinesWith4KiBPages) {
  // 250,000 pages: offsets up to 1,023,995,904 (7 to 10 digits).
  constexpr std::uint64_t ps = 4096, pages = 250000;
  const fs::path a = write("in-order.mig", stream(ps, 0, pages, false));
  const fs::path b = write("resent.mig", stream(ps, 0, pages, true));
  for (unsigned threads : {1u, 2u}) {
    SCOPED_TRACE(threads);
    expect_fast_path_equals_second_pass(hash_text(a, threads), hash_text(b, threads), ps, pages);
  }
  // A zero page's line carries the XXH3-64 of a page of zeros.
  const std::vector<std::byte> zeros(ps);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(zeros.data(), ps)));
  EXPECT_NE(hash_text(a, 2).find("\"offset\":4096,\"xxh3\":\"" + std::string(hex) + "\"}\n"), std::string::npos);
}

TEST_F(PageHasherTest, FirstPassLinesEqualSecondPassLinesWith64KiBPages) {
  constexpr std::uint64_t ps = 65536, pages = 20000;  // offsets up to 1,310,654,464
  const fs::path a = write("in-order.mig", stream(ps, 16, pages, false));
  const fs::path b = write("resent.mig", stream(ps, 16, pages, true));
  expect_fast_path_equals_second_pass(hash_text(a, 2), hash_text(b, 2), ps, pages);
}

}  // namespace
}  // namespace migscope
