// State JSON: upstream's value rendering (format_int, format_hex_bytes,
// write_state_value) and the sink over a synthetic walk.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "input/input.h"
#include "json/py_writer.h"
#include "sinks/state_json.h"
#include "migscope/stream.h"
#include "stream_builder.h"
#include "vmdesc/vmdesc.h"

namespace migscope {
namespace {

using test::StreamBuilder;
using test::to_bytes;

std::string fmt_int(std::vector<std::byte> raw, bool is_signed) {
  std::string s;
  format_int(s, raw, is_signed);
  return s;
}

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> v) {
  std::vector<std::byte> out;
  for (unsigned b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

TEST(FormatInt, UnsignedIsZeroPaddedHexOfTheWidth) {
  EXPECT_EQ(fmt_int(bytes_of({0x00}), false), "0x00");
  EXPECT_EQ(fmt_int(bytes_of({0xff}), false), "0xff");
  EXPECT_EQ(fmt_int(bytes_of({0x00, 0x01}), false), "0x0001");
  EXPECT_EQ(fmt_int(bytes_of({0xde, 0xad, 0xbe, 0xef}), false), "0xdeadbeef");
  EXPECT_EQ(fmt_int(bytes_of({0, 0, 0, 0, 0, 0, 0x10, 0}), false), "0x0000000000001000");
  EXPECT_EQ(fmt_int(bytes_of({0xab, 0xcd, 0xef}), false), "0xabcdef");  // odd widths from "size"
}

TEST(FormatInt, SignedNegativeAddsTheDecimal) {
  EXPECT_EQ(fmt_int(bytes_of({0x7f}), true), "0x7f");
  EXPECT_EQ(fmt_int(bytes_of({0x80}), true), "0x80 (-128)");
  EXPECT_EQ(fmt_int(bytes_of({0xff, 0xff, 0xff, 0xff}), true), "0xffffffff (-1)");
  EXPECT_EQ(fmt_int(bytes_of({0x80, 0, 0, 0}), true), "0x80000000 (-2147483648)");
  EXPECT_EQ(fmt_int(bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}), true), "0xfffffffffffffffe (-2)");
  EXPECT_EQ(fmt_int(bytes_of({0x80, 0, 0, 0, 0, 0, 0, 0}), true), "0x8000000000000000 (-9223372036854775808)");
  EXPECT_EQ(fmt_int(bytes_of({0xff, 0xff, 0x00}), true), "0xffff00 (-256)");
  EXPECT_EQ(fmt_int(bytes_of({0, 0, 0, 0}), true), "0x00000000");
}

TEST(FormatInt, SixteenByteNegative) {
  std::vector<std::byte> v(16, std::byte{0});
  v[0] = std::byte{0x80};
  EXPECT_EQ(fmt_int(v, true), "0x80000000000000000000000000000000 (-170141183460469231731687303715884105728)");
  std::vector<std::byte> m1(16, std::byte{0xff});
  EXPECT_EQ(fmt_int(m1, true), "0x" + std::string(32, 'f') + " (-1)");
}

// Upstream (Python ints) prints the decimal for any width; a vmdesc "size" of
// 17+ bytes for an int type is legal JSON. format_int() drops the decimal
// beyond 16 bytes (core/sinks/state_json.cpp, `if (raw.size() <= 16)`).
TEST(FormatInt, NegativeWiderThan16BytesKeepsItsDecimal) {
  std::vector<std::byte> m1(17, std::byte{0xff});
  EXPECT_EQ(fmt_int(m1, true), "0x" + std::string(34, 'f') + " (-1)");
}

TEST(FormatHexBytes, SpaceSeparatedLowercasePairs) {
  std::string s;
  format_hex_bytes(s, bytes_of({0x00, 0x1f, 0xff, 0xa0}));
  EXPECT_EQ(s, "00 1f ff a0");
  std::string empty;
  format_hex_bytes(empty, {});
  EXPECT_EQ(empty, "");
  std::string appended = "x:";
  format_hex_bytes(appended, bytes_of({0x01}));
  EXPECT_EQ(appended, "x:01");
}

std::string render(const FieldValue& v) {
  std::string out;
  {
    json::OutBuffer buf(&out);
    json::PyWriter w(buf);
    std::string scratch;
    write_state_value(w, v, scratch);
  }
  return out;
}

TEST(WriteStateValue, EveryKind) {
  auto raw = to_bytes(std::string("\xff\xfe", 2));
  auto text = to_bytes("x-ignore-shared");
  FieldValue s;
  s.kind = FieldValue::Kind::signed_int;
  s.raw = raw;
  EXPECT_EQ(render(s), "\"0xfffe (-2)\"");
  FieldValue u = s;
  u.kind = FieldValue::Kind::unsigned_int;
  EXPECT_EQ(render(u), "\"0xfffe\"");
  FieldValue by = s;
  by.kind = FieldValue::Kind::bytes;
  EXPECT_EQ(render(by), "\"ff fe\"");
  FieldValue b;
  b.kind = FieldValue::Kind::boolean;
  b.flag = true;
  EXPECT_EQ(render(b), "true");
  FieldValue n;
  n.kind = FieldValue::Kind::null_marker;
  EXPECT_EQ(render(n), "\"nullptr\"");
  FieldValue t;
  t.kind = FieldValue::Kind::text;
  t.raw = text;
  EXPECT_EQ(render(t), "\"x-ignore-shared\"");

  FieldValue obj;
  obj.kind = FieldValue::Kind::object;
  obj.add_field("a", u);
  obj.add_field("flag", b);
  obj.add_field("a", s);  // becomes a list in the first position
  FieldValue sub;
  sub.kind = FieldValue::Kind::object;
  obj.set_member("dev/sub", sub);
  EXPECT_EQ(render(obj),
            "{\n"
            "    \"a\": [\n"
            "        \"0xfffe\",\n"
            "        \"0xfffe (-2)\"\n"
            "    ],\n"
            "    \"flag\": true,\n"
            "    \"dev/sub\": {}\n"
            "}");
}

TEST(FieldValue, AddFieldMergesAndSetMemberReplacesInPlace) {
  FieldValue a, b, c;
  a.kind = b.kind = c.kind = FieldValue::Kind::boolean;
  a.flag = true;
  FieldValue obj;
  obj.kind = FieldValue::Kind::object;
  obj.add_field("x", a);
  obj.add_field("y", b);
  obj.add_field("x", b);
  obj.add_field("x", c);
  ASSERT_EQ(obj.members.size(), 2u);
  EXPECT_EQ(obj.members[0].first, "x");
  ASSERT_EQ(obj.members[0].second.kind, FieldValue::Kind::list);
  EXPECT_EQ(obj.members[0].second.items.size(), 3u);
  EXPECT_TRUE(obj.members[0].second.items[0].flag);
  obj.set_member("x", a);
  ASSERT_EQ(obj.members.size(), 2u);
  EXPECT_EQ(obj.members[0].second.kind, FieldValue::Kind::boolean);
  obj.set_member("z", a);
  EXPECT_EQ(obj.members.size(), 3u);
  EXPECT_EQ(obj.members[2].first, "z");
}

// The sink over a whole synthetic stream: RAM sizes, a decoded device,
// an undescribed section as hex bytes, htab as "".
TEST(StateJsonSink, WholeStream) {
  auto vd = Vmdesc::parse(
      R"({"page_size": 4096, "devices": [{"name": "timer", "instance_id": 0, "vmsd_name": "timer", "version": 2,)"
      R"( "fields": [{"name": "cpu_ticks_offset", "type": "int64", "size": 8}, {"name": "unused", "type": "unused_buffer", "size": 2}]}]})",
      0);
  ASSERT_TRUE(vd.ok());
  StreamBuilder b;
  b.header().configuration("pc-q35-7.2");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x4000000}, {"/rom@etc/acpi/tables", 0x20000}}).ram_eos().footer(2);
  b.section_start(3, "spapr/htab", 0, 1).be32(0xffffffff).footer(3);
  b.section_part(2).ram_zero(0, "pc.ram").ram_eos().footer(2);
  b.section_end(2).ram_eos().footer(2);
  b.section_full(0, "timer", 0, 2).be64(~0ull).be16(0).footer(0);
  b.section_full(9, "slirp", 0, 4).u8(0xab).u8(0x01).footer(9);
  b.eof();
  auto loc = locate_stream(b.bytes());
  ASSERT_TRUE(loc.ok());
  std::string out;
  {
    json::OutBuffer buf(&out);
    json::PyWriter w(buf);
    StateJsonSink sink(w);
    WalkOptions o;
    o.vmdesc = &*vd;
    sink.begin();
    auto s = walk_stream(b.bytes(), *loc, o, sink);
    ASSERT_TRUE(s.ok()) << s.error().message();
    sink.finish();
  }
  EXPECT_EQ(out,
            "{\n"
            "    \"ram (2)\": {\n"
            "        \"section sizes\": {\n"
            "            \"pc.ram\": \"0x0000000004000000\",\n"
            "            \"/rom@etc/acpi/tables\": \"0x0000000000020000\"\n"
            "        }\n"
            "    },\n"
            "    \"spapr/htab (3)\": \"\",\n"
            "    \"timer (0)\": {\n"
            "        \"cpu_ticks_offset\": \"0xffffffffffffffff (-1)\",\n"
            "        \"unused\": \"00 00\"\n"
            "    },\n"
            "    \"slirp (9)\": \"ab 01\"\n"
            "}\n");
}

}  // namespace
}  // namespace migscope
