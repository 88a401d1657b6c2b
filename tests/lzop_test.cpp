// The lzop reader (core/input/lzop.h): files made by the real lzop binary
// (scripts/install-deps.sh installs it) at test time, with every method and
// checksum option it has, read back byte for byte; damaged, cut and lying
// files give an error value naming the offset; libvirt's lzop saves in the
// corpus decompress to the stream the real tools took out of them.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include "input/decompress.h"
#include "input/lzop.h"
#include "migscope/ops.h"
#include "migscope/stream.h"
#include "reader_drain.h"
#include "test_paths.h"
#include "wire/endian.h"

namespace migscope {
namespace {

namespace fs = std::filesystem;

Bytes bytes_of(const std::string& s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }

class LzopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(test::run_command("command -v lzop >/dev/null", nullptr), 0)
        << "the lzop binary is needed (apt-get install lzop; scripts/install-deps.sh installs it)";
    dir_ = fs::temp_directory_path() / ("migscope-lzop-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& data) const {
    const std::string p = (dir_ / name).string();
    std::ofstream f(p, std::ios::binary);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    return p;
  }

  // `data` compressed by `lzop -c OPTIONS`, read from a pipe like libvirt
  // runs it (no name in the header), or from a file named "input.bin".
  std::string lzop(const std::string& data, const std::string& options = "", bool from_pipe = true) const {
    write("input.bin", data);
    const std::string out = (dir_ / "output.lzo").string();
    const std::string cmd = "cd '" + dir_.string() + "' && lzop -c " + options + (from_pipe ? " < input.bin" : " input.bin") +
                            " > '" + out + "'";
    EXPECT_EQ(test::run_command(cmd, nullptr), 0) << cmd;
    return test::read_file(out);
  }

  fs::path dir_;
};

// Everything a reader gives, read `chunk` bytes at a time, or its error.
Result<std::string> read_all(Bytes file, std::size_t chunk, std::uint64_t file_offset = 0) {
  MIGSCOPE_ASSIGN(auto reader, make_decompressor(file, Compression::lzop, "test.lzo", file_offset, /*release_behind=*/false));
  std::string out;
  std::vector<std::byte> buf(chunk);
  for (;;) {
    MIGSCOPE_ASSIGN(std::size_t n, reader->read(buf));
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  return out;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Random, zeros and text: some blocks stored raw (random data does not
// compress), others compressed; more than three of lzop's 256 KiB blocks.
std::string mixed_input() {
  std::string s = random_bytes(300 << 10, 1);
  s += std::string(400 << 10, '\0');
  for (int i = 0; i < 20000; ++i) s += "page " + std::to_string(i) + " of a migration stream\n";
  s += random_bytes(5000, 2);
  return s;
}

// Where the blocks of a single-member lzop file are.
struct BlockAt {
  std::size_t header = 0, sums = 0, data = 0;
  std::uint32_t dst = 0, src = 0;
};
std::vector<BlockAt> blocks_of(const std::string& file) {
  auto h = parse_lzop_header(bytes_of(file), 0);
  EXPECT_TRUE(h.ok()) << h.error().message();
  if (!h.ok()) return {};
  std::vector<BlockAt> out;
  std::size_t at = h->size;
  const auto* p = reinterpret_cast<const std::byte*>(file.data());
  while (at + 4 <= file.size()) {
    BlockAt b;
    b.header = at;
    b.dst = load_be32(p + at);
    if (b.dst == 0) break;
    b.src = load_be32(p + at + 4);
    b.sums = at + 8;
    std::size_t n = 0;
    n += (h->flags & lzop_flags::adler32_d) ? 1 : 0;
    n += (h->flags & lzop_flags::crc32_d) ? 1 : 0;
    if (b.src < b.dst) {
      n += (h->flags & lzop_flags::adler32_c) ? 1 : 0;
      n += (h->flags & lzop_flags::crc32_c) ? 1 : 0;
    }
    b.data = b.sums + 4 * n;
    at = b.data + b.src;
    out.push_back(b);
  }
  return out;
}

void put_be32(std::string& s, std::size_t at, std::uint32_t v) {
  store_be32(reinterpret_cast<std::byte*>(s.data() + at), v);
}

// Header checksum of the bytes [9, end) of `header`, appended (Adler-32, or CRC-32).
std::string seal(std::string header, bool crc = false) {
  const auto* p = reinterpret_cast<const Bytef*>(header.data() + 9);
  const auto n = static_cast<uInt>(header.size() - 9);
  const auto sum = static_cast<std::uint32_t>(crc ? ::crc32(0, p, n) : ::adler32(1, p, n));
  std::string s(4, '\0');
  put_be32(s, 0, sum);
  return header + s;
}

std::string be16s(std::uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string be32s(std::uint32_t v) {
  std::string s(4, '\0');
  put_be32(s, 0, v);
  return s;
}
const std::string kMagic("\x89LZO\0\r\n\x1a\n", 9);

// A version 0x1040 header as lzop writes it, with the fields given.
std::string header_1040(std::uint8_t method, std::uint8_t level, std::uint32_t flags, std::uint16_t needed = 0x0940) {
  std::string h = kMagic + be16s(0x1040) + be16s(0x20a0) + be16s(needed);
  h += static_cast<char>(method);
  h += static_cast<char>(level);
  h += be32s(flags) + be32s(0) + be32s(0) + be32s(0);
  h += '\0';  // no name
  return seal(h, (flags & lzop_flags::header_crc32) != 0);
}

// ---- real files, read back ------------------------------------------------------

TEST_F(LzopTest, EmptyInput) {
  const std::string file = lzop("");
  auto out = read_all(bytes_of(file), 1 << 20);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, "");
}

TEST_F(LzopTest, OneByte) {
  const std::string file = lzop("x");
  auto out = read_all(bytes_of(file), 1 << 20);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, "x");
}

TEST_F(LzopTest, MultiBlockInAnyChunkSize) {
  const std::string input = mixed_input();
  ASSERT_GT(input.size(), 3u * (256 << 10));
  const std::string file = lzop(input);
  auto header = parse_lzop_header(bytes_of(file), 0);
  ASSERT_TRUE(header.ok()) << header.error().message();
  EXPECT_EQ(header->method, 1);
  EXPECT_EQ(header->version, 0x1040);
  EXPECT_TRUE(header->flags & lzop_flags::adler32_d);
  EXPECT_EQ(header->name, "");
  const auto blocks = blocks_of(file);
  ASSERT_GE(blocks.size(), 4u);
  EXPECT_TRUE(std::any_of(blocks.begin(), blocks.end(), [](const BlockAt& b) { return b.src == b.dst; }))
      << "a block of random data is stored raw";
  EXPECT_TRUE(std::any_of(blocks.begin(), blocks.end(), [](const BlockAt& b) { return b.src < b.dst; }));
  // Whole blocks into the caller's buffer, and through the block buffer in pieces.
  for (std::size_t chunk : {std::size_t{8} << 20, std::size_t{1} << 20, std::size_t{256} << 10, std::size_t{4097},
                            std::size_t{1}}) {
    SCOPED_TRACE(chunk);
    auto out = read_all(bytes_of(file), chunk);
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_TRUE(*out == input);
  }
}

TEST_F(LzopTest, EveryMethodAndChecksumOption) {
  const std::string input = mixed_input();
  struct Case {
    const char* options;
    int method;
    std::uint32_t flags;  // that must be set
  };
  for (const Case& c : {Case{"-1", 2, lzop_flags::adler32_d}, Case{"-9", 3, lzop_flags::adler32_d},
                        Case{"-5", 1, lzop_flags::adler32_d},
                        Case{"-CC", 1, lzop_flags::adler32_d | lzop_flags::adler32_c},
                        Case{"--crc32", 1, lzop_flags::crc32_d | lzop_flags::header_crc32},
                        Case{"--crc32 -CC -9", 3, lzop_flags::crc32_d | lzop_flags::crc32_c | lzop_flags::header_crc32},
                        Case{"-F", 1, 0}, Case{"--filter=1", 1, lzop_flags::filter},
                        Case{"--filter=4 -CC", 1, lzop_flags::filter | lzop_flags::adler32_c},
                        Case{"--filter=16 -9", 3, lzop_flags::filter}}) {
    SCOPED_TRACE(c.options);
    const std::string file = lzop(input, c.options);
    auto header = parse_lzop_header(bytes_of(file), 0);
    ASSERT_TRUE(header.ok()) << header.error().message();
    EXPECT_EQ(header->method, c.method);
    EXPECT_EQ(header->flags & c.flags, c.flags);
    if (std::string(c.options) == "-F") {
      EXPECT_EQ(header->flags & (lzop_flags::adler32_d | lzop_flags::crc32_d), 0u);
    }
    for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{1000}}) {
      auto out = read_all(bytes_of(file), chunk);
      ASSERT_TRUE(out.ok()) << out.error().message();
      EXPECT_TRUE(*out == input);
    }
  }
}

TEST_F(LzopTest, HeaderOfANamedFile) {
  const std::string file = lzop("hello", "", false);
  auto header = parse_lzop_header(bytes_of(file), 0);
  ASSERT_TRUE(header.ok()) << header.error().message();
  EXPECT_EQ(header->name, "input.bin");
  EXPECT_EQ(header->mode & 0170000u, 0100000u) << "a regular file's mode";
  EXPECT_GT(header->mtime, 0u);
  auto out = read_all(bytes_of(file), 64);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, "hello");
}

TEST_F(LzopTest, MembersBackToBackAndZeroPadding) {
  const std::string a = random_bytes(1000, 3) + std::string(300 << 10, 'a'), b = "second member";
  const std::string both = lzop(a) + lzop(b, "-9");
  auto out = read_all(bytes_of(both), 1 << 20);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_TRUE(*out == a + b);
  auto padded = read_all(bytes_of(both + std::string(4096, '\0')), 1 << 20);
  ASSERT_TRUE(padded.ok()) << padded.error().message();
  EXPECT_TRUE(*padded == a + b);
  const std::string garbage = both + std::string("\0\0junk", 6);
  auto bad = read_all(bytes_of(garbage), 1 << 20);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::corrupt);
  EXPECT_EQ(bad.error().offset, both.size());
  EXPECT_NE(bad.error().detail.find("6 bytes after the end"), std::string::npos) << bad.error().detail;
}

// Header versions before 0x0940 lack version_needed, level and mtime_high;
// an extra field (lzop never writes one) is skipped after its own checksum.
TEST_F(LzopTest, OldHeadersAndAnExtraField) {
  const std::string input = mixed_input();
  const std::string real = lzop(input);
  auto header = parse_lzop_header(bytes_of(real), 0);
  ASSERT_TRUE(header.ok());
  const std::string blocks = real.substr(header->size);

  std::string old = kMagic + be16s(0x0930) + be16s(0x1080);
  old += '\x01';  // method, no level
  old += be32s(lzop_flags::adler32_d) + be32s(0) + be32s(12345);  // flags, mode, mtime (low only)
  old += "\x03" "old";
  const std::string old_file = seal(old) + blocks;
  auto h_old = parse_lzop_header(bytes_of(old_file), 0);
  ASSERT_TRUE(h_old.ok()) << h_old.error().message();
  EXPECT_EQ(h_old->version_needed, 0x0900);
  EXPECT_EQ(h_old->mtime, 12345u);
  EXPECT_EQ(h_old->name, "old");
  auto out_old = read_all(bytes_of(old_file), 1 << 20);
  ASSERT_TRUE(out_old.ok()) << out_old.error().message();
  EXPECT_TRUE(*out_old == input);

  for (bool crc : {false, true}) {
    SCOPED_TRACE(crc ? "crc32" : "adler32");
    const std::uint32_t flags = lzop_flags::adler32_d | lzop_flags::extra_field | (crc ? lzop_flags::header_crc32 : 0);
    const std::string extra = be32s(5) + "extra";
    const auto* p = reinterpret_cast<const Bytef*>(extra.data());
    const auto sum = static_cast<std::uint32_t>(crc ? ::crc32(0, p, 9) : ::adler32(1, p, 9));
    const std::string with_extra = header_1040(1, 3, flags) + extra + be32s(sum) + blocks;
    auto out = read_all(bytes_of(with_extra), 1 << 20);
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_TRUE(*out == input);
    std::string bad_extra = with_extra;
    bad_extra[header_1040(1, 3, flags).size() + 6] ^= 1;
    auto bad = read_all(bytes_of(bad_extra), 1 << 20);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::corrupt);
    EXPECT_NE(bad.error().detail.find("extra field checksum"), std::string::npos) << bad.error().detail;
    // An extra field longer than the file.
    const std::string huge = header_1040(1, 3, flags) + be32s(0xfffffff0u) + "xx";
    auto cut = read_all(bytes_of(huge), 1 << 20);
    ASSERT_FALSE(cut.ok());
    EXPECT_EQ(cut.error().code, ErrorCode::truncated);
  }
}

// ---- damage ------------------------------------------------------------------------

TEST_F(LzopTest, CorruptedBlockDataIsCorruptAtItsBlock) {
  const std::string input = mixed_input();
  const std::string file = lzop(input);
  const auto blocks = blocks_of(file);
  // The first compressed block (the second: the first is random, stored).
  const auto it = std::find_if(blocks.begin(), blocks.end(), [](const BlockAt& b) { return b.src < b.dst; });
  ASSERT_NE(it, blocks.end());
  const std::size_t index = static_cast<std::size_t>(it - blocks.begin());
  std::size_t reported_before = 0;
  for (std::size_t k = 0; k < index; ++k) reported_before += blocks[k].dst;
  for (std::size_t where : {std::size_t{0}, std::size_t{1}, std::size_t{it->src / 2}, std::size_t{it->src - 1}}) {
    SCOPED_TRACE(where);
    std::string bad = file;
    bad[it->data + where] ^= 0x5a;
    auto reader = make_decompressor(bytes_of(bad), Compression::lzop, "bad.lzo", 0);
    ASSERT_TRUE(reader.ok());
    std::vector<std::byte> buf(1 << 20);
    std::string got;
    Error err;
    for (;;) {
      auto n = (*reader)->read(buf);
      if (!n.ok()) {
        err = n.error();
        break;
      }
      ASSERT_GT(*n, 0u) << "damage was not noticed";
      got.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    EXPECT_EQ(err.code, ErrorCode::corrupt);
    // Named at the block: its data (LZO error) or its checksum field.
    EXPECT_GE(err.offset, it->header);
    EXPECT_LE(err.offset, it->data + it->src);
    EXPECT_NE(err.detail.find("lzop block " + std::to_string(index + 1)), std::string::npos) << err.detail;
    // The blocks before it came out, and were right.
    EXPECT_EQ(got.size(), reported_before);
    EXPECT_TRUE(got == input.substr(0, got.size()));
    // A broken reader stays broken.
    auto again = (*reader)->read(buf);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().offset, err.offset);
  }
}

TEST_F(LzopTest, FlippedChecksumsNameTheirField) {
  const std::string input = mixed_input();
  for (const char* options : {"", "--crc32", "-CC"}) {
    SCOPED_TRACE(options);
    const std::string file = lzop(input, options);
    const auto blocks = blocks_of(file);
    ASSERT_FALSE(blocks.empty());
    const auto it = std::find_if(blocks.begin(), blocks.end(), [](const BlockAt& b) { return b.src < b.dst; });
    ASSERT_NE(it, blocks.end());
    // Every checksum field of a compressed block.
    for (std::size_t field = it->sums; field < it->data; field += 4) {
      std::string bad = file;
      bad[field + 3] ^= 1;
      auto out = read_all(bytes_of(bad), 1 << 20, 1000);
      ASSERT_FALSE(out.ok());
      EXPECT_EQ(out.error().code, ErrorCode::corrupt);
      EXPECT_EQ(out.error().offset, 1000 + field) << out.error().message();
      EXPECT_NE(out.error().detail.find(std::string(options) == "--crc32" ? "CRC-32" : "Adler-32"), std::string::npos)
          << out.error().detail;
      EXPECT_NE(out.error().detail.find("the block header says"), std::string::npos) << out.error().detail;
    }
    // The header's own checksum.
    std::string bad = file;
    auto h = parse_lzop_header(bytes_of(file), 0);
    ASSERT_TRUE(h.ok());
    bad[h->size - 1] ^= 1;
    auto out = read_all(bytes_of(bad), 1 << 20, 1000);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, ErrorCode::corrupt);
    EXPECT_EQ(out.error().offset, 1000 + h->size - 4);
    EXPECT_NE(out.error().detail.find("lzop header checksum"), std::string::npos) << out.error().detail;
  }
}

TEST_F(LzopTest, EveryCutIsAnErrorWithAnOffset) {
  const std::string input = random_bytes(2000, 4) + std::string(600 << 10, 'z');
  const std::string file = lzop(input, "-CC");
  const auto blocks = blocks_of(file);
  ASSERT_GE(blocks.size(), 3u);
  std::vector<std::size_t> cuts;
  for (std::size_t k = 0; k < 80; ++k) cuts.push_back(k);  // the header and the first block header
  for (const BlockAt& b : blocks)
    for (std::size_t k : {b.header, b.header + 3, b.header + 5, b.sums + 2, b.data, b.data + b.src / 2, b.data + b.src - 1})
      cuts.push_back(k);
  cuts.push_back(file.size() - 4);  // the end marker
  cuts.push_back(file.size() - 1);
  for (std::size_t cut : cuts) {
    SCOPED_TRACE(cut);
    auto out = read_all(bytes_of(file.substr(0, cut)), 1 << 20, 92);
    ASSERT_FALSE(out.ok());
    EXPECT_TRUE(out.error().code == ErrorCode::truncated || out.error().code == ErrorCode::corrupt)
        << out.error().message();
    ASSERT_TRUE(out.error().has_offset());
    EXPECT_LE(out.error().offset, 92 + cut);
    EXPECT_FALSE(out.error().detail.empty());
  }
  auto whole = read_all(bytes_of(file), 1 << 20, 92);
  ASSERT_TRUE(whole.ok()) << whole.error().message();
  EXPECT_TRUE(*whole == input);
}

TEST_F(LzopTest, LyingBlockSizes) {
  const std::string file = lzop(std::string(100000, 'q'));
  const auto blocks = blocks_of(file);
  ASSERT_EQ(blocks.size(), 1u);
  const std::size_t at = blocks[0].header;
  struct Case {
    std::uint32_t dst, src;
    std::size_t offset;
    const char* says;
  };
  for (const Case& c : {Case{0xffffffffu, blocks[0].src, at, "0xffffffff"},
                        Case{0xfffffff0u, blocks[0].src, at, "64 MiB"},
                        Case{(64u << 20) + 1, blocks[0].src, at, "64 MiB"},
                        Case{blocks[0].dst, blocks[0].dst + 1, at + 4, "compressed size 100001"},
                        Case{blocks[0].dst, 0, at + 4, "compressed size 0"},
                        Case{blocks[0].dst, 0xffffffffu, at + 4, "compressed size 4294967295"}}) {
    SCOPED_TRACE(c.says);
    std::string bad = file;
    put_be32(bad, at, c.dst);
    put_be32(bad, at + 4, c.src);
    auto out = read_all(bytes_of(bad), 1 << 20);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, ErrorCode::corrupt);
    EXPECT_EQ(out.error().offset, c.offset);
    EXPECT_NE(out.error().detail.find(c.says), std::string::npos) << out.error().detail;
  }
  // Sizes within the limits that do not match the data: the data is wrong,
  // or the file ends before the compressed size.
  for (std::uint32_t dst : {blocks[0].dst - 1, blocks[0].dst + 1, 64u << 20}) {
    std::string bad = file;
    put_be32(bad, at, dst);
    auto out = read_all(bytes_of(bad), 1 << 20);
    ASSERT_FALSE(out.ok()) << dst;
    EXPECT_EQ(out.error().code, ErrorCode::corrupt) << out.error().message();
  }
  std::string longer = file;
  put_be32(longer, at + 4, blocks[0].src + 1000);
  auto out = read_all(bytes_of(longer), 1 << 20);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::truncated) << out.error().message();
  EXPECT_EQ(out.error().offset, blocks[0].data);
}

TEST_F(LzopTest, UnknownMethodsAndNewerFormats) {
  const std::string blocks = [&] {
    const std::string real = lzop("some data");
    return real.substr(parse_lzop_header(bytes_of(real), 0)->size);
  }();
  struct Case {
    std::string header;
    ErrorCode code;
    const char* says;
  };
  const Case cases[] = {
      {header_1040(128, 5, lzop_flags::adler32_d), ErrorCode::unsupported, "lzop method 128 (zlib)"},
      {header_1040(0x2b, 5, lzop_flags::adler32_d), ErrorCode::unsupported, "NRV"},
      {header_1040(0, 5, lzop_flags::adler32_d), ErrorCode::unsupported, "lzop method 0"},
      {header_1040(4, 5, lzop_flags::adler32_d), ErrorCode::unsupported, "only the LZO1X methods"},
      {header_1040(1, 10, lzop_flags::adler32_d), ErrorCode::corrupt, "level 10"},
      {header_1040(1, 5, lzop_flags::adler32_d, 0x2000), ErrorCode::unsupported, "needs lzop 0x2000"},
      {header_1040(1, 5, lzop_flags::adler32_d, 0x0100), ErrorCode::corrupt, "older than any lzop"},
      {header_1040(1, 5, lzop_flags::adler32_d | 0x4000), ErrorCode::unsupported, "reserved bits 0x4000"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.says);
    const std::string file = c.header + blocks;
    auto out = read_all(bytes_of(file), 1 << 20, 77);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, c.code) << out.error().message();
    EXPECT_NE(out.error().detail.find(c.says), std::string::npos) << out.error().detail;
    ASSERT_TRUE(out.error().has_offset());
    EXPECT_GE(out.error().offset, 77u + 9);
    EXPECT_LT(out.error().offset, 77u + c.header.size());
  }
  // The method byte changed without resealing: the header checksum catches it first.
  std::string unsealed = header_1040(1, 5, lzop_flags::adler32_d) + blocks;
  unsealed[15] = '\x80';
  auto out = read_all(bytes_of(unsealed), 1 << 20);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::corrupt);
  EXPECT_NE(out.error().detail.find("header checksum"), std::string::npos);
  // Not lzop at all.
  auto junk = read_all(bytes_of("\x89LZX and more bytes"), 1 << 20);
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().code, ErrorCode::corrupt);
  auto nothing = read_all(bytes_of(""), 1 << 20);
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.error().code, ErrorCode::truncated);
}

// ---- through Dump::open, and the real corpus -------------------------------------

TEST_F(LzopTest, AWholeFileLzopStreamReadsLikeTheStream) {
  const std::string stream_path = test::binary_dir() + "/corpus/streams/x86_64-q35-7.2.mig";
  if (!fs::exists(stream_path)) GTEST_SKIP() << "corpus not built";
  const std::string lzo = write("q35.mig.lzo", lzop(test::read_file(stream_path), "-9"));
  auto a = Dump::open(lzo);
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->location().compression, Compression::lzop);
  auto b = Dump::open(stream_path);
  ASSERT_TRUE(b.ok());
  std::string ha, hb;
  ASSERT_TRUE(ops::hash(*a, {}, ops::TextOutput::to_string(ha)).ok());
  ASSERT_TRUE(ops::hash(*b, {}, ops::TextOutput::to_string(hb)).ok());
  EXPECT_FALSE(ha.empty());
  EXPECT_TRUE(ha == hb);
}

TEST_F(LzopTest, LibvirtLzopSavesGiveTheGroundTruthStream) {
  const fs::path wrapped = fs::path(test::binary_dir()) / "corpus" / "wrapped";
  for (const char* name : {"pc-lzop", "q35-lzop"}) {
    SCOPED_TRACE(name);
    const fs::path save = wrapped / (std::string(name) + ".save");
    if (!fs::exists(save)) GTEST_SKIP() << "corpus/wrapped not built";
    const std::string image = test::read_file(save.string());
    auto where = locate_stream(bytes_of(image));
    ASSERT_TRUE(where.ok()) << where.error().message();
    ASSERT_EQ(where->compression, Compression::lzop);
    const Bytes payload = bytes_of(image).subspan(where->payload_offset);
    // What the corpus README says of these files.
    auto header = parse_lzop_header(payload, where->payload_offset);
    ASSERT_TRUE(header.ok()) << header.error().message();
    EXPECT_EQ(header->version, 0x1040);
    EXPECT_EQ(header->method, 1);
    EXPECT_EQ(header->level, 5);
    EXPECT_EQ(header->flags, 0x300000du);
    EXPECT_EQ(header->size, 38u);
    auto out = read_all(payload, 1 << 20, where->payload_offset);
    ASSERT_TRUE(out.ok()) << out.error().message();
    const std::string truth = test::read_file((wrapped / (std::string(name) + ".stream.mig")).string());
    EXPECT_EQ(out->size(), truth.size());
    EXPECT_TRUE(*out == truth);
    // Damage in the payload is named at its file offset (past the libvirt header).
    std::string bad = image;
    bad[where->payload_offset + 38 + 12 + 100] ^= 0x40;
    auto damaged = read_all(bytes_of(bad).subspan(where->payload_offset), 1 << 20, where->payload_offset);
    ASSERT_FALSE(damaged.ok());
    EXPECT_EQ(damaged.error().code, ErrorCode::corrupt);
    EXPECT_GE(damaged.error().offset, where->payload_offset + 38);
    EXPECT_LT(damaged.error().offset, bad.size());
  }
}

TEST_F(LzopTest, TheInputBehindTheReaderLeavesTheResidentSet) {
  // 64 MiB that lzop stores as is: the mapped input is touched in order, and
  // what the reader has passed must not stay resident (a multi-GB save would
  // otherwise be all in memory by its end).
  const std::string data = random_bytes(64u << 20, 7);
  const std::string path = write("big.lzo", lzop(data, "-1"));
  auto in = InputFile::open(path);
  ASSERT_TRUE(in.ok()) << in.error().message();
  auto reader = make_lzop_reader(in->bytes(), "big.lzo", 0);
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  const test::Drained d = test::drain_checked(**reader, data, in->bytes().data());
  ASSERT_FALSE(d.error.has_value()) << d.error->message();
  EXPECT_EQ(d.total, data.size());
  ASSERT_NE(d.max_resident, UINT64_MAX);
  EXPECT_LT(d.max_resident, std::uint64_t{24} << 20) << "of a 64 MiB input";
}

}  // namespace
}  // namespace migscope
