// The vmdesc: locating the trailer exactly, and parsing/checking the JSON.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "json/json_util.h"
#include "stream_builder.h"
#include "vmdesc/vmdesc.h"

namespace migscope {
namespace {

using test::StreamBuilder;

constexpr const char* kDesc = R"({"page_size": 4096, "devices": [{"name": "timer", "instance_id": 0, "vmsd_name": "timer", "version": 2, "fields": []}]})";

StreamBuilder stream_with_trailer(std::string_view json) {
  StreamBuilder b;
  b.header().configuration("pc-q35-7.2");
  b.section_full(0, "timer", 0, 2).be64(0).footer(0);
  b.eof().vmdesc(json);
  return b;
}

TEST(FindVmdescTrailer, FindsTheTrailerAtTheEnd) {
  StreamBuilder b = stream_with_trailer(kDesc);
  const std::uint64_t expected = b.size() - std::string_view(kDesc).size() - 5;
  auto t = find_vmdesc_trailer(b.bytes(), 0);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->offset, expected);
  EXPECT_EQ(t->json, kDesc);
  // Offsets are file offsets: a stream inside a libvirt image starts later.
  auto shifted = find_vmdesc_trailer(b.bytes(), 1000);
  ASSERT_TRUE(shifted.has_value());
  EXPECT_EQ(shifted->offset, expected + 1000);
}

TEST(FindVmdescTrailer, NoneWithoutTrailerOrWithWrongLength) {
  StreamBuilder plain;
  plain.header().configuration("pc").eof();
  EXPECT_FALSE(find_vmdesc_trailer(plain.bytes(), 0).has_value());
  EXPECT_FALSE(find_vmdesc_trailer(Bytes{}, 0).has_value());
  // A length one short of the end, and one too long.
  StreamBuilder shortlen;
  shortlen.header().eof().u8(0x06).be32(6).raw(R"({"a":1})");
  EXPECT_FALSE(find_vmdesc_trailer(shortlen.bytes(), 0).has_value());
  StreamBuilder longlen;
  longlen.header().eof().u8(0x06).be32(8).raw(R"({"a":1})");
  EXPECT_FALSE(find_vmdesc_trailer(longlen.bytes(), 0).has_value());
  // A truncated producer: the JSON stops early.
  StreamBuilder cut = stream_with_trailer(kDesc);
  cut.vec().resize(cut.size() - 10);
  EXPECT_FALSE(find_vmdesc_trailer(cut.bytes(), 0).has_value());
}

TEST(FindVmdescTrailer, MinimalObject) {
  StreamBuilder b;
  b.header().eof().vmdesc("{}");
  auto t = find_vmdesc_trailer(b.bytes(), 0);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->offset, 9u);
  EXPECT_EQ(t->json, "{}");
}

// Upstream takes the last NUL byte of the tail, then the first '{' after it.
// Here a device body ends with bytes that look like the start of a trailer
// ("\x00 \x06 <len> {"), and there are '{' bytes in binary data before the
// real trailer: only the exact rule (0x06 + be32 length reaching the end) finds it.
TEST(FindVmdescTrailer, BraceAndFakeTrailerInBinaryDataBeforeTheRealOne) {
  StreamBuilder b;
  b.header().configuration("pc-q35-7.2");
  b.section_full(3, "blob", 0, 1).raw("{{{").u8(0).u8(0x06).be32(3).raw("{x}").u8(0x7b).footer(3);
  b.eof();
  const std::uint64_t at = b.offset();
  b.vmdesc(kDesc);
  auto t = find_vmdesc_trailer(b.bytes(), 0);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->offset, at);
  EXPECT_EQ(t->json, kDesc);
}

// A JSON length with no 0x00 byte and a 0x7b ('{') byte in it: upstream's
// last-NUL/first-brace guess cannot work (no NUL in the length, and the '{'
// in the length would be taken for the JSON start). 0x01017b01 bytes = 16.1 MiB.
TEST(FindVmdescTrailer, LengthWithBraceByteAndNoZeroByte) {
  const std::uint32_t len = 0x01017b01;
  std::string json = R"({"page_size": 4096, "devices": [], "pad": ")";
  json.append(len - json.size() - 2, 'a');
  json += "\"}";
  ASSERT_EQ(json.size(), len);
  StreamBuilder b;
  b.header().configuration("pc").eof();
  const std::uint64_t at = b.offset();
  b.vmdesc(json);
  ASSERT_EQ(static_cast<std::uint8_t>(b.bytes()[at + 3]), 0x7b);
  auto t = find_vmdesc_trailer(b.bytes(), 0);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->offset, at);
  EXPECT_EQ(t->json.size(), len);
  auto parsed = Vmdesc::parse(t->json, t->offset + 5);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->device_count(), 0u);
}

TEST(FindVmdescTrailer, NestedBracesInsideTheJsonAreNotTaken) {
  // Every inner '{' is a candidate scanning backwards; none has 0x06 + length before it.
  std::string json = R"({"devices": [{"name": "a", "instance_id": 0, "fields": [{"name": "x"}]}, {"name": "{", "instance_id": 1}]})";
  StreamBuilder b;
  b.header().eof();
  b.vmdesc(json);
  auto t = find_vmdesc_trailer(b.bytes(), 0);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->offset, 9u);
  EXPECT_EQ(t->json, json);
}

TEST(FindVmdescTrailer, RespectsTheWindow) {
  StreamBuilder b = stream_with_trailer(kDesc);
  const std::size_t needed = std::string_view(kDesc).size() + 5;
  EXPECT_TRUE(find_vmdesc_trailer(b.bytes(), 0, needed).has_value());
  EXPECT_FALSE(find_vmdesc_trailer(b.bytes(), 0, needed - 6).has_value());
}

TEST(VmdescParse, ReadsPageSizeDevicesAndConfiguration) {
  auto d = Vmdesc::parse(
      R"({"configuration": {"vmsd_name": "configuration", "version": 1, "fields": []}, "page_size": 65536,)"
      R"( "devices": [{"name": "cpu", "instance_id": 0, "fields": []}, {"name": "cpu", "instance_id": 1, "fields": [], "v": 1}]})",
      0);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->page_size().value_or(0), 65536u);
  ASSERT_NE(d->configuration(), nullptr);
  EXPECT_EQ(json::string_member(*d->configuration(), "vmsd_name").value_or(""), "configuration");
  EXPECT_EQ(d->device_count(), 2u);
  const auto* cpu1 = d->device("cpu", 1);
  ASSERT_NE(cpu1, nullptr);
  EXPECT_NE(json::member(*cpu1, "v"), nullptr);
  EXPECT_NE(d->device("cpu", 0), nullptr);
  EXPECT_EQ(d->device("cpu", 2), nullptr);
  EXPECT_EQ(d->device("cp", 0), nullptr);
}

TEST(VmdescParse, PageSizeAbsentAndConfigurationAbsent) {
  auto d = Vmdesc::parse(R"({"devices": []})", 0);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_FALSE(d->page_size().has_value());
  EXPECT_EQ(d->configuration(), nullptr);
}

TEST(VmdescParse, DuplicateDeviceLastWins) {
  auto d = Vmdesc::parse(
      R"({"devices": [{"name": "x", "instance_id": 0, "tag": 1}, {"name": "x", "instance_id": 0, "tag": 2}]})", 0);
  ASSERT_TRUE(d.ok());
  const auto* x = d->device("x", 0);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(json::uint_member(*x, "tag").value_or(0), 2u);
}

void expect_invalid(std::string_view json, std::string_view needle) {
  SCOPED_TRACE(std::string(json.substr(0, 80)));
  auto d = Vmdesc::parse(json, 0x100);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::invalid_json);
  EXPECT_TRUE(d.error().has_offset());
  EXPECT_NE(d.error().detail.find(needle), std::string::npos) << d.error().detail;
}

TEST(VmdescParse, ShapeErrors) {
  expect_invalid("[]", "expected an object");
  expect_invalid("42", "expected an object");
  expect_invalid("{}", "$.devices");
  expect_invalid(R"({"devices": {}})", "$.devices");
  expect_invalid(R"({"devices": [1]})", "$.devices[0]");
  expect_invalid(R"({"devices": [{"instance_id": 0}]})", "$.devices[0].name");
  expect_invalid(R"({"devices": [{"name": "a", "instance_id": 0}, {"name": "b"}]})", "$.devices[1].instance_id");
  expect_invalid(R"({"devices": [{"name": "a", "instance_id": -1}]})", "instance_id");
}

TEST(VmdescParse, BadPageSizes) {
  for (const char* ps : {"0", "3", "4097", "-4096", "\"4096\"", "4096.0", "2147483648", "null"}) {
    SCOPED_TRACE(ps);
    expect_invalid(std::string(R"({"page_size": )") + ps + R"(, "devices": []})", "page_size");
  }
  for (std::uint64_t ok : {1024u, 4096u, 16384u, 65536u}) {
    auto d = Vmdesc::parse(R"({"page_size": )" + std::to_string(ok) + R"(, "devices": []})", 0);
    ASSERT_TRUE(d.ok()) << ok;
    EXPECT_EQ(d->page_size().value_or(0), ok);
  }
}

TEST(VmdescParse, SyntaxErrorOffsetIsAFileOffset) {
  auto d = Vmdesc::parse(R"({"devices": [}})", 0x1000);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::invalid_json);
  EXPECT_GE(d.error().offset, 0x1000u);
  EXPECT_LT(d.error().offset, 0x1000u + 16);
  auto external = Vmdesc::parse("{", Error::no_offset);
  ASSERT_FALSE(external.ok());
  EXPECT_FALSE(external.error().has_offset());
}

TEST(VmdescParse, HostileNestingDoesNotCrash) {
  // Unclosed: a syntax error, found without recursion.
  std::string open(100000, '[');
  auto a = Vmdesc::parse(open, 0);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::invalid_json);
  // Closed and otherwise valid: rejected by the depth limit.
  std::string deep = R"({"devices": [], "x": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto b = Vmdesc::parse(deep, 0);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::invalid_json);
  EXPECT_NE(b.error().detail.find("deeper"), std::string::npos) << b.error().detail;
  std::string objects;
  for (int i = 0; i < 50000; ++i) objects += R"({"a":)";
  objects += "1";
  objects += std::string(50000, '}');
  auto c = Vmdesc::parse(objects, 0);
  ASSERT_FALSE(c.ok());
}

TEST(VmdescParse, DepthBelowTheLimitIsAccepted) {
  std::string nested = R"({"devices": [], "x": )" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_TRUE(Vmdesc::parse(nested, 0).ok());
}

}  // namespace
}  // namespace migscope
