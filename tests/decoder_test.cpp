// The vmdesc field decoder: upstream analyze-migration.py's reading rules,
// bounded, with errors as values.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "json/py_writer.h"
#include "sinks/state_json.h"
#include "stream_builder.h"
#include "vmdesc/decoder.h"

namespace migscope {
namespace {

using test::StreamBuilder;
using Kind = FieldValue::Kind;

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  EXPECT_FALSE(d.HasParseError()) << json;
  return d;
}

// A device description with the given fields (and optional subsections).
rapidjson::Document device(const std::string& fields, const std::string& subsections = "") {
  std::string j = R"({"name": "dev", "instance_id": 0, "vmsd_name": "dev", "version": 1, "fields": [)" + fields + "]";
  if (!subsections.empty()) j += R"(, "subsections": [)" + subsections + "]";
  return parse(j + "}");
}

std::string field(const std::string& name, const std::string& type, unsigned size, const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "type": ")" + type + R"(", "size": )" + std::to_string(size) + extra + "}";
}

std::string render(const FieldValue& v) {
  std::string out;
  {
    json::OutBuffer buf(&out);
    json::PyWriter w(buf);
    std::string scratch;
    write_state_value(w, v, scratch);
    buf.Flush();
  }
  return out;
}

std::string hex_of(const FieldValue& v) {
  std::string s;
  format_hex_bytes(s, v.raw);
  return s;
}

const FieldValue* member(const FieldValue& obj, std::string_view name) {
  for (const auto& [k, v] : obj.members)
    if (k == name) return &v;
  return nullptr;
}

struct Decoded {
  Result<FieldValue> value;
  std::uint64_t end;
};

Decoded decode(const rapidjson::Document& desc, const StreamBuilder& body, std::uint64_t base = 0x100,
               DecodeOptions options = {}) {
  Cursor c(body.bytes(), base);
  auto r = decode_device(desc, c, "dev", options);
  return {std::move(r), c.offset()};
}

TEST(Decoder, IntegersSignedAndUnsignedRenderLikeUpstream) {
  auto desc = device(field("a", "int32", 4) + "," + field("b", "uint32", 4) + "," + field("c", "int8", 1) + "," +
                     field("d", "int64", 8) + "," + field("e", "int16", 2) + "," + field("f", "uint64", 8));
  StreamBuilder b;
  b.be32(0xffffffff).be32(0xffffffff).u8(0x80).be64(0x7fffffffffffffffull).be16(0xfffe).be64(~0ull);
  auto d = decode(desc, b);
  ASSERT_TRUE(d.value.ok()) << d.value.error().message();
  EXPECT_EQ(d.end, 0x100u + b.size());
  const FieldValue& v = *d.value;
  ASSERT_EQ(v.kind, Kind::object);
  ASSERT_EQ(v.members.size(), 6u);
  EXPECT_EQ(v.members[0].first, "a");
  EXPECT_EQ(v.members[0].second.kind, Kind::signed_int);
  EXPECT_EQ(v.members[1].second.kind, Kind::unsigned_int);
  EXPECT_EQ(render(v.members[0].second), "\"0xffffffff (-1)\"");
  EXPECT_EQ(render(v.members[1].second), "\"0xffffffff\"");
  EXPECT_EQ(render(v.members[2].second), "\"0x80 (-128)\"");
  EXPECT_EQ(render(v.members[3].second), "\"0x7fffffffffffffff\"");
  EXPECT_EQ(render(v.members[4].second), "\"0xfffe (-2)\"");
  EXPECT_EQ(render(v.members[5].second), "\"0xffffffffffffffff\"");
}

TEST(Decoder, ReaderTableAsUpstream) {
  // "uint8 equal"/"uint16 equal" are read as signed (VMSDFieldInt); "uint32 equal" unsigned;
  // "int32 le" is big-endian.
  auto desc = device(field("a", "uint8 equal", 1) + "," + field("b", "uint16 equal", 2) + "," +
                     field("c", "uint32 equal", 4) + "," + field("d", "int32 le", 4) + "," +
                     field("e", "int64 equal", 8) + "," + field("f", "int32 equal", 4));
  StreamBuilder b;
  b.u8(0xff).be16(0x8000).be32(0x80000000).be32(0xfffffffd).be64(0x8000000000000000ull).be32(1);
  auto d = decode(desc, b);
  ASSERT_TRUE(d.value.ok()) << d.value.error().message();
  const FieldValue& v = *d.value;
  EXPECT_EQ(render(*member(v, "a")), "\"0xff (-1)\"");
  EXPECT_EQ(render(*member(v, "b")), "\"0x8000 (-32768)\"");
  EXPECT_EQ(render(*member(v, "c")), "\"0x80000000\"");
  EXPECT_EQ(render(*member(v, "d")), "\"0xfffffffd (-3)\"");
  EXPECT_EQ(render(*member(v, "e")), "\"0x8000000000000000 (-9223372036854775808)\"");
  EXPECT_EQ(render(*member(v, "f")), "\"0x00000001\"");
}

TEST(Decoder, WidthComesFromSizeNotFromType) {
  auto desc = device(field("narrow", "uint32", 2) + "," + field("wide", "int8", 3) + "," + field("next", "uint8", 1));
  StreamBuilder b;
  b.be16(0x1234).u8(0xff).u8(0xff).u8(0x00).u8(0x42);
  auto d = decode(desc, b);
  ASSERT_TRUE(d.value.ok()) << d.value.error().message();
  EXPECT_EQ(render(*member(*d.value, "narrow")), "\"0x1234\"");
  EXPECT_EQ(render(*member(*d.value, "wide")), "\"0xffff00 (-256)\"");
  EXPECT_EQ(render(*member(*d.value, "next")), "\"0x42\"");
}

TEST(Decoder, BoolAnyNonZeroIsTrue) {
  auto desc = device(field("f", "bool", 1) + "," + field("t", "bool", 1) + "," + field("t2", "bool", 1));
  StreamBuilder b;
  b.u8(0).u8(1).u8(2);
  auto d = decode(desc, b);
  ASSERT_TRUE(d.value.ok());
  EXPECT_EQ(member(*d.value, "f")->kind, Kind::boolean);
  EXPECT_FALSE(member(*d.value, "f")->flag);
  EXPECT_TRUE(member(*d.value, "t")->flag);
  EXPECT_TRUE(member(*d.value, "t2")->flag);
  EXPECT_EQ(render(*member(*d.value, "t")), "true");
  EXPECT_EQ(render(*member(*d.value, "f")), "false");
}

TEST(Decoder, UnknownAndGenericTypesAreRawBytesBySize) {
  auto desc = device(field("cfg", "pci config", 4) + "," + field("t", "timer", 8) + "," + field("u", "unused_buffer", 2) +
                     "," + field("z", "buffer", 0) + "," + field("w", "some future type", 3));
  StreamBuilder b;
  b.be32(0x8680c029).be64(0xffffffffffffffffull).be16(0).u8(1).u8(2).u8(0xab);
  auto d = decode(desc, b);
  ASSERT_TRUE(d.value.ok()) << d.value.error().message();
  EXPECT_EQ(member(*d.value, "cfg")->kind, Kind::bytes);
  EXPECT_EQ(render(*member(*d.value, "cfg")), "\"86 80 c0 29\"");
  EXPECT_EQ(render(*member(*d.value, "t")), "\"ff ff ff ff ff ff ff ff\"");
  EXPECT_EQ(render(*member(*d.value, "u")), "\"00 00\"");
  EXPECT_EQ(render(*member(*d.value, "z")), "\"\"");
  EXPECT_EQ(render(*member(*d.value, "w")), "\"01 02 ab\"");
  EXPECT_EQ(d.end, 0x100u + b.size());
}

TEST(Decoder, ArrayLenUnfoldsIntoAList) {
  auto desc = device(field("regs", "uint16", 2, R"(, "array_len": 3)") + "," + field("one", "uint8", 1, R"(, "array_len": 1)") +
                     "," + field("zero", "uint8", 1, R"(, "array_len": 0)") + "," + field("tail", "uint8", 1));
  StreamBuilder b;
  b.be16(1).be16(2).be16(3).u8(9).u8(8).u8(7);
  auto d = decode(desc, b);
  ASSERT_TRUE(d.value.ok()) << d.value.error().message();
  const FieldValue* regs = member(*d.value, "regs");
  ASSERT_NE(regs, nullptr);
  ASSERT_EQ(regs->kind, Kind::list);
  ASSERT_EQ(regs->items.size(), 3u);
  EXPECT_EQ(hex_of(regs->items[2]), "00 03");
  // Upstream: array_len 1 stays a scalar; array_len 0 still reads element 0.
  EXPECT_EQ(member(*d.value, "one")->kind, Kind::unsigned_int);
  EXPECT_EQ(hex_of(*member(*d.value, "zero")), "08");
  EXPECT_EQ(hex_of(*member(*d.value, "tail")), "07");
  EXPECT_EQ(d.end, 0x100u + b.size());
}

TEST(Decoder, RepeatedNamesMergeIntoAListAtTheFirstPosition) {
  // QEMU >= 10.0 splits arrays of pointers into runs: "p" (nullptr), "x", "p" (array_len 2), "p".
  auto desc = device(field("p", "nullptr", 1) + "," + field("x", "uint8", 1) + "," +
                     field("p", "uint8", 1, R"(, "array_len": 2)") + "," + field("p", "nullptr", 1));
  StreamBuilder b;
  b.u8(0x30).u8(0x11).u8(0x22).u8(0x33).u8(0x30);
  auto d = decode(desc, b);
  ASSERT_TRUE(d.value.ok()) << d.value.error().message();
  const FieldValue& v = *d.value;
  ASSERT_EQ(v.members.size(), 2u);
  EXPECT_EQ(v.members[0].first, "p");
  EXPECT_EQ(v.members[1].first, "x");
  const FieldValue& p = v.members[0].second;
  ASSERT_EQ(p.kind, Kind::list);
  ASSERT_EQ(p.items.size(), 4u);
  EXPECT_EQ(p.items[0].kind, Kind::null_marker);
  EXPECT_EQ(hex_of(p.items[1]), "22");
  EXPECT_EQ(hex_of(p.items[2]), "33");
  EXPECT_EQ(p.items[3].kind, Kind::null_marker);
  EXPECT_EQ(render(p.items[0]), "\"nullptr\"");
}

TEST(Decoder, NullptrMarkerMustBe0x30) {
  auto desc = device(field("p", "nullptr", 1));
  StreamBuilder b;
  b.u8(0x00);
  auto d = decode(desc, b, 0x40);
  ASSERT_FALSE(d.value.ok());
  EXPECT_EQ(d.value.error().code, ErrorCode::corrupt);
  EXPECT_EQ(d.value.error().offset, 0x40u);
  EXPECT_NE(d.value.error().detail.find("0x30"), std::string::npos) << d.value.error().detail;
  EXPECT_NE(d.value.error().detail.find("field 'p'"), std::string::npos) << d.value.error().detail;
}

TEST(Decoder, StructsNestAndCarryTheirOwnSubsections) {
  std::string inner = R"({"vmsd_name": "inner", "version": 1, "fields": [)" + field("v", "uint32", 4) +
                      R"(], "subsections": [{"vmsd_name": "inner/extra", "version": 1, "fields": [)" + field("e", "uint8", 1) + "]}]}";
  auto desc = device(R"({"name": "s", "type": "struct", "size": 5, "struct": )" + inner + "}," + field("after", "uint8", 1));
  StreamBuilder b;
  b.be32(7).subsection("inner/extra").u8(0xee).u8(0x01);
  auto d = decode(desc, b);
  ASSERT_TRUE(d.value.ok()) << d.value.error().message();
  const FieldValue* s = member(*d.value, "s");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->kind, Kind::object);
  EXPECT_EQ(hex_of(*member(*s, "v")), "00 00 00 07");
  const FieldValue* extra = member(*s, "inner/extra");
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ(hex_of(*member(*extra, "e")), "ee");
  EXPECT_EQ(hex_of(*member(*d.value, "after")), "01");
}

TEST(Decoder, SubsectionsAreKeyedByTheNameReadFromTheStream) {
  auto desc = device(field("a", "uint8", 1), R"({"vmsd_name": "dev/one", "version": 1, "fields": [)" + field("x", "uint8", 1) + "]}");
  StreamBuilder b;
  b.u8(5).subsection("dev/renamed", 3).u8(6);
  auto d = decode(desc, b);
  ASSERT_TRUE(d.value.ok()) << d.value.error().message();
  ASSERT_EQ(d.value->members.size(), 2u);
  EXPECT_EQ(d.value->members[1].first, "dev/renamed");
  EXPECT_EQ(hex_of(*member(d.value->members[1].second, "x")), "06");
  EXPECT_EQ(d.end, 0x100u + b.size());
  EXPECT_EQ(render(*d.value), "{\n    \"a\": \"0x05\",\n    \"dev/renamed\": {\n        \"x\": \"0x06\"\n    }\n}");
}

TEST(Decoder, MissingSubsectionMarkerIsAnErrorNamingIt) {
  auto desc = device(field("a", "uint8", 1), R"({"vmsd_name": "dev/one", "version": 1, "fields": []})");
  StreamBuilder b;
  b.u8(5).u8(0x7e);
  auto d = decode(desc, b, 0x10);
  ASSERT_FALSE(d.value.ok());
  EXPECT_EQ(d.value.error().code, ErrorCode::corrupt);
  EXPECT_EQ(d.value.error().offset, 0x11u);
  EXPECT_NE(d.value.error().detail.find("dev/one"), std::string::npos) << d.value.error().detail;
  EXPECT_NE(d.value.error().detail.find("0x7e"), std::string::npos) << d.value.error().detail;
}

TEST(Decoder, EmptySubsectionDescriptionIsAnError) {
  auto desc = device(field("a", "uint8", 1), "{}");
  StreamBuilder b;
  b.u8(5).subsection("dev/x");
  auto d = decode(desc, b);
  ASSERT_FALSE(d.value.ok());
  EXPECT_EQ(d.value.error().code, ErrorCode::invalid_json);
  EXPECT_NE(d.value.error().detail.find("dev/x"), std::string::npos) << d.value.error().detail;
}

TEST(Decoder, CapabilityIsACountedString) {
  auto desc = device(R"({"name": "cap", "type": "capability", "size": 16, "array_len": 2})");
  StreamBuilder b;
  b.counted("x-ignore-shared").counted("mapped-ram");
  auto d = decode(desc, b);
  ASSERT_TRUE(d.value.ok()) << d.value.error().message();
  const FieldValue* cap = member(*d.value, "cap");
  ASSERT_EQ(cap->kind, Kind::list);
  ASSERT_EQ(cap->items.size(), 2u);
  EXPECT_EQ(cap->items[0].kind, Kind::text);
  // The second element is shorter than "size" says: self-delimiting decoding reads it right.
  EXPECT_EQ(render(cap->items[1]), "\"mapped-ram\"");
  EXPECT_EQ(d.end, 0x100u + b.size());
}

TEST(Decoder, TruncatedSectionReportsOffsetAndFieldPath) {
  std::string inner = R"({"vmsd_name": "inner", "version": 1, "fields": [)" + field("a", "uint8", 1) + "," + field("b", "uint32", 4) + "]}";
  auto desc = device(field("first", "uint16", 2) + R"(, {"name": "s", "type": "struct", "size": 5, "struct": )" + inner + "}");
  StreamBuilder b;
  b.be16(1).u8(2).u8(3).u8(4);  // b needs 4 bytes, 2 are left
  auto d = decode(desc, b, 0x2000);
  ASSERT_FALSE(d.value.ok());
  const Error& e = d.value.error();
  EXPECT_EQ(e.code, ErrorCode::truncated);
  EXPECT_EQ(e.offset, 0x2003u);
  EXPECT_NE(e.detail.find("section 'dev'"), std::string::npos) << e.detail;
  EXPECT_NE(e.detail.find("field 's > b'"), std::string::npos) << e.detail;
  EXPECT_NE(e.detail.find("need 4 bytes, 2 left"), std::string::npos) << e.detail;
}

TEST(Decoder, TruncatedArrayElementNamesItsIndex) {
  auto desc = device(field("regs", "uint32", 4, R"(, "array_len": 4)"));
  StreamBuilder b;
  b.be32(1).be32(2).be16(3);
  auto d = decode(desc, b, 0);
  ASSERT_FALSE(d.value.ok());
  EXPECT_EQ(d.value.error().code, ErrorCode::truncated);
  EXPECT_EQ(d.value.error().offset, 8u);
  EXPECT_NE(d.value.error().detail.find("regs[2]"), std::string::npos) << d.value.error().detail;
}

TEST(Decoder, HugeSizeIsATruncationNotAnOverRead) {
  auto desc = parse(R"({"fields": [{"name": "buf", "type": "buffer", "size": 18446744073709551615}]})");
  StreamBuilder b;
  b.fill(16, 0);
  auto d = decode(desc, b, 0);
  ASSERT_FALSE(d.value.ok());
  EXPECT_EQ(d.value.error().code, ErrorCode::truncated);
}

TEST(Decoder, HugeArrayLenIsRejectedBeforeReading) {
  auto desc = device(field("big", "uint8", 1, R"(, "array_len": 1099511627776)"));
  StreamBuilder b;
  b.fill(64, 0);
  auto d = decode(desc, b, 0);
  ASSERT_FALSE(d.value.ok());
  EXPECT_EQ(d.value.error().code, ErrorCode::corrupt);
  EXPECT_NE(d.value.error().detail.find("array_len"), std::string::npos) << d.value.error().detail;
  EXPECT_EQ(d.value.error().offset, 0u);
}

TEST(Decoder, DescriptionShapeErrors) {
  StreamBuilder b;
  b.fill(8, 0);
  for (const char* bad : {R"({"name": "d"})", R"({"fields": {}})", R"({"fields": [1]})", R"({"fields": [{"type": "uint8", "size": 1}]})",
                          R"({"fields": [{"name": "x", "size": 1}]})", R"({"fields": [{"name": "x", "type": "uint8"}]})",
                          R"({"fields": [{"name": "x", "type": "uint8", "size": -1}]})",
                          R"({"fields": [{"name": "x", "type": "struct", "size": 1}]})",
                          R"({"fields": [{"name": "x", "type": "uint8", "size": 1, "array_len": "2"}]})",
                          R"({"fields": [], "subsections": {}})"}) {
    SCOPED_TRACE(bad);
    auto desc = parse(bad);
    auto d = decode(desc, b);
    ASSERT_FALSE(d.value.ok());
    EXPECT_EQ(d.value.error().code, ErrorCode::invalid_json) << d.value.error().message();
  }
}

// QEMU 7.2 describes a NULL element of an array of struct pointers as the
// struct itself, but writes only the 0x30 marker.
TEST(Decoder, NullMarkerForStructRetryOption) {
  std::string inner = R"({"vmsd_name": "elem", "version": 1, "fields": [)" + field("v", "uint32", 4) + "]}";
  auto desc = device(R"({"name": "ptrs", "type": "struct", "size": 4, "array_len": 2, "struct": )" + inner + "}");
  StreamBuilder b;
  b.u8(0x30).be32(7);
  auto literal = decode(desc, b, 0);
  ASSERT_FALSE(literal.value.ok());  // 0x30000000 then 1 byte left for the second element
  EXPECT_EQ(literal.value.error().code, ErrorCode::truncated);
  auto retry = decode(desc, b, 0, DecodeOptions{true});
  ASSERT_TRUE(retry.value.ok()) << retry.value.error().message();
  const FieldValue* ptrs = member(*retry.value, "ptrs");
  ASSERT_EQ(ptrs->kind, Kind::list);
  ASSERT_EQ(ptrs->items.size(), 2u);
  EXPECT_EQ(ptrs->items[0].kind, Kind::null_marker);
  EXPECT_EQ(ptrs->items[1].kind, Kind::object);
  EXPECT_EQ(hex_of(*member(ptrs->items[1], "v")), "00 00 00 07");
  EXPECT_EQ(retry.end, b.size());
}

TEST(Decoder, DecodingStopsAtTheEndOfTheDescription) {
  auto desc = device(field("a", "uint8", 1));
  StreamBuilder b;
  b.u8(1).footer(3);
  auto d = decode(desc, b, 0);
  ASSERT_TRUE(d.value.ok());
  EXPECT_EQ(d.end, 1u);  // the footer is the walker's business
}

}  // namespace
}  // namespace migscope
