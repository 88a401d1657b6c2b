// Decompressing readers (input/decompress): what comes out of damaged and
// cut data, and the readers for an incomplete libvirt save (its payload is
// cut where the save stopped).
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include "input/decompress.h"
#include "migscope/input.h"

namespace migscope {
namespace {

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
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
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
  auto reader = make_decompressor(bytes_of(cut), Compression::gzip, "cut.gz", 100);
  ASSERT_TRUE(reader.ok());
  const Drained d = drain(**reader);
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(d.error->code, ErrorCode::corrupt);
  EXPECT_EQ(d.error->offset, 100u);
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
  auto whole = make_decompressor(bytes_of(z), Compression::gzip, "whole.gz", 0);
  ASSERT_TRUE(whole.ok());
  const Drained w = drain(**whole);
  EXPECT_FALSE(w.error.has_value());
  EXPECT_TRUE(w.bytes == data);
}

TEST(Decompress, EndAtDamageEndsWhereTheDataIsCut) {
  const std::string data = sample();
  const std::string z = gzip(data);
  const std::string cut = z.substr(0, z.size() / 2);
  auto reader = make_decompressor(bytes_of(cut), Compression::gzip, "part.save", 92);
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
