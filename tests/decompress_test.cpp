// Decompressing readers (input/decompress): what comes out of damaged and
// cut data, and the readers for an incomplete libvirt save (its payload is
// cut where the save stopped).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "test_compress.h"
#include <zlib.h>
#include <zstd.h>

#include "input/decompress.h"
#include "migscope/input.h"
#include "reader_drain.h"
#include "test_paths.h"

namespace migscope {
namespace {

namespace fs = std::filesystem;

Bytes bytes_of(const std::string& s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }

// Data that does not compress to nothing: 2 MiB of a simple generator.
std::string sample() {
  std::string s(2u << 20, '\0');
  std::uint32_t x = 12345;
  for (std::size_t i = 0; i < s.size(); ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>((i % 4096 < 2048) ? 0 : (x >> 24) & 0x0f);
  }
  return s;
}

std::string gzip(const std::string& data) {
  return test::deflate_bytes(data, 6, 16 + MAX_WBITS, 8);
}

// As the zstd program writes a frame: with its XXH64 content checksum.
std::string zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  const std::size_t n = ZSTD_compress2(c, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(c);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

struct Drained {
  std::string bytes;
  std::optional<Error> error;
};

Drained drain(SequentialReader& r) {
  Drained d;
  std::vector<std::byte> buf(1u << 20);
  for (;;) {
    auto n = r.read(buf);
    if (!n.ok()) {
      d.error = n.error();
      return d;
    }
    if (*n == 0) return d;
    d.bytes.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

TEST(Decompress, CutDataGivesWhatDecompressedBeforeTheCutThenAnErrorThatStays) {
  const std::string data = sample();
  const std::string z = gzip(data);
  const std::string cut = z.substr(0, z.size() / 2);
  auto reader = make_decompressor(bytes_of(cut), Compression::gzip, "cut.gz", 100, /*release_behind=*/false);
  ASSERT_TRUE(reader.ok());
  const Drained d = drain(**reader);
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(d.error->code, ErrorCode::truncated);
  EXPECT_EQ(d.error->offset, 100u + cut.size()) << "where the data ends";
  EXPECT_NE(d.error->detail.find("gzip"), std::string::npos) << d.error->detail;
  // All but at most the last 64 KiB decompressed before the cut (the filter's
  // buffer), and exactly the data's first bytes. (istream::read lost all of
  // it: the whole stream was one read.)
  EXPECT_GT(d.bytes.size(), data.size() / 4);
  EXPECT_LT(d.bytes.size(), data.size());
  EXPECT_TRUE(data.compare(0, d.bytes.size(), d.bytes) == 0);
  std::vector<std::byte> buf(16);
  auto again = (*reader)->read(buf);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().detail, d.error->detail);
  // Whole data reads whole.
  auto whole = make_decompressor(bytes_of(z), Compression::gzip, "whole.gz", 0, /*release_behind=*/false);
  ASSERT_TRUE(whole.ok());
  const Drained w = drain(**whole);
  EXPECT_FALSE(w.error.has_value());
  EXPECT_TRUE(w.bytes == data);
}

TEST(Decompress, ZstdFramesBackToBackAndSkippableFramesRead) {
  const std::string data = sample();
  std::string skippable("\x50\x2a\x4d\x18\x05\0\0\0hello", 13);
  const std::string z = skippable + zstd(data.substr(0, 300000)) + skippable + zstd(data.substr(300000));
  auto reader = make_decompressor(bytes_of(z), Compression::zstd, "frames.zst", 0, /*release_behind=*/false);
  ASSERT_TRUE(reader.ok());
  const Drained d = drain(**reader);
  ASSERT_FALSE(d.error.has_value()) << d.error->message();
  EXPECT_TRUE(d.bytes == data);
}

TEST(Decompress, ACutZstdFrameIsAnErrorNotAShorterStream) {
  // Boost's zstd filter ended quietly at the cut: a cut zstd save read as a
  // shorter stream (or, cut in its first block, as an empty file).
  const std::string data = sample();
  const std::string z = zstd(data);
  for (std::size_t keep : {z.size() / 10, z.size() / 2, z.size() - 1}) {
    SCOPED_TRACE(keep);
    auto reader = make_decompressor(bytes_of(z).first(keep), Compression::zstd, "cut.zst", 1000, /*release_behind=*/false);
    ASSERT_TRUE(reader.ok());
    const Drained d = drain(**reader);
    ASSERT_TRUE(d.error.has_value()) << d.bytes.size() << " bytes and a clean end";
    EXPECT_EQ(d.error->code, ErrorCode::truncated);
    EXPECT_EQ(d.error->offset, 1000 + keep) << "where the data ends";
    EXPECT_NE(d.error->detail.find("cut short"), std::string::npos) << d.error->detail;
    EXPECT_LE(d.bytes.size(), data.size());  // (cut in its checksum: all of it, and the error)
    EXPECT_TRUE(data.compare(0, d.bytes.size(), d.bytes) == 0);
    std::vector<std::byte> buf(16);
    EXPECT_FALSE((*reader)->read(buf).ok()) << "the error stays";
  }
  // Damage inside a frame is an error too (the checksum, if not before).
  std::string damaged = z;
  for (std::size_t i = damaged.size() / 2; i < damaged.size() / 2 + 64; ++i) damaged[i] = static_cast<char>(~damaged[i]);
  auto bad = make_decompressor(bytes_of(damaged), Compression::zstd, "bad.zst", 0, /*release_behind=*/false);
  ASSERT_TRUE(bad.ok());
  const Drained b = drain(**bad);
  ASSERT_TRUE(b.error.has_value());
  EXPECT_EQ(b.error->code, ErrorCode::corrupt);
  EXPECT_LE(b.error->offset, damaged.size());
}

TEST(Decompress, TheCompressedInputBehindTheReaderLeavesTheResidentSet) {
  // 64 MiB of zstd frames that do not compress, mapped: what the reader has
  // passed must not stay resident (a multi-GB save would be by its end).
  std::string data(64u << 20, '\0');
  std::uint64_t x = 88172645463325252ull;
  for (std::size_t i = 0; i + 8 <= data.size(); i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(data.data() + i, &x, 8);
  }
  const std::string z = zstd(data);
  const fs::path path = fs::temp_directory_path() / ("migscope-decompress-" + std::to_string(::getpid()) + ".zst");
  std::ofstream(path, std::ios::binary).write(z.data(), static_cast<std::streamsize>(z.size()));
  auto in = InputFile::open(path.string());
  fs::remove(path);
  ASSERT_TRUE(in.ok()) << in.error().message();
  auto reader = make_decompressor(in->bytes(), Compression::zstd, "big.zst", 0);
  ASSERT_TRUE(reader.ok());
  const test::Drained d = test::drain_checked(**reader, data, in->bytes().data());
  ASSERT_FALSE(d.error.has_value()) << d.error->message();
  EXPECT_EQ(d.total, data.size());
  ASSERT_NE(d.max_resident, UINT64_MAX);
  EXPECT_LT(d.max_resident, std::uint64_t{24} << 20) << "of a 64 MiB input";
}

TEST(Decompress, EndAtDamageEndsWhereTheDataIsCut) {
  const std::string data = sample();
  const std::string z = gzip(data);
  const std::string cut = z.substr(0, z.size() / 2);
  auto reader = make_decompressor(bytes_of(cut), Compression::gzip, "part.save", 92, /*release_behind=*/false);
  ASSERT_TRUE(reader.ok());
  auto ending = end_at_damage(std::move(reader).value());
  EXPECT_EQ(ending->name(), "part.save");
  const Drained d = drain(*ending);
  EXPECT_FALSE(d.error.has_value());
  EXPECT_GT(d.bytes.size(), data.size() / 4);
  EXPECT_TRUE(data.compare(0, d.bytes.size(), d.bytes) == 0);
  std::vector<std::byte> buf(16);
  auto after = ending->read(buf);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, 0u);
}

TEST(Decompress, IncompleteSavesNameTheirErrors) {
  StreamLocation plain;
  StreamLocation save;
  save.libvirt.emplace();
  StreamLocation part = save;
  part.libvirt->complete = false;
  const Error damage = make_error(ErrorCode::not_a_stream, 0, "the decompressed gzip data: empty file");
  EXPECT_TRUE(name_if_incomplete(part, Status{}).ok());
  for (const StreamLocation* loc : {&plain, &save}) {
    auto st = name_if_incomplete(*loc, Status(damage));
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::not_a_stream);
    EXPECT_EQ(st.error().detail, damage.detail);
  }
  auto st = name_if_incomplete(part, Status(damage));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::truncated);
  EXPECT_EQ(st.error().detail,
            "incomplete libvirt save image (magic 'LibvirtQemudPart': the save never finished): the decompressed gzip data: empty file");
  auto unsupported = name_if_incomplete(part, Status(make_error(ErrorCode::unsupported, 0, "a bomb")));
  EXPECT_EQ(unsupported.error().code, ErrorCode::unsupported);
}

}  // namespace
}  // namespace migscope
