// The "memory" object of `state -m`: after an index walk, a second walk
// writes one key "<block> (0x%016x)" per page in order of first appearance,
// valued with the page's final content as hex bytes, or "Filled with 0xNN"
// when the final record is a zero page; a page sent twice appears once.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <zlib.h>

#include "input/input.h"
#include "json/py_writer.h"
#include "migscope/stream.h"
#include "ram/page_index.h"
#include "ram/xbzrle.h"
#include "sinks/memory_json.h"
#include "sinks/state_json.h"
#include "stream_builder.h"

namespace migscope {
namespace {

using test::StreamBuilder;
constexpr std::uint64_t P = 4096;
using Content = std::vector<std::byte>;
using Members = std::vector<std::pair<std::string, std::string>>;

Content pattern(std::uint64_t seed) {
  Content p(P);
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 11;
  for (std::size_t i = 0; i < P; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = static_cast<std::byte>(x >> 3);
  }
  return p;
}

std::string hex_of(const Content& c) {
  std::string s;
  char two[4];
  for (std::size_t i = 0; i < c.size(); ++i) {
    std::snprintf(two, sizeof two, "%02x", static_cast<unsigned>(c[i]));
    if (i) s += ' ';
    s += two;
  }
  return s;
}

// Records and, beside them, the expected members: keys in first-appearance
// order, each with the value its last record gives.
struct Script {
  StreamBuilder b;
  std::vector<std::string> order;
  std::map<std::string, std::string> value;
  std::map<std::string, Content> content;  // for XBZRLE: the current version

  static std::string key(const std::string& block, std::uint64_t page) {
    char addr[32];
    std::snprintf(addr, sizeof addr, " (0x%016llx)", static_cast<unsigned long long>(page * P));
    return block + addr;
  }
  void set(const std::string& k, std::string v, Content c) {
    if (!value.count(k)) order.push_back(k);
    value[k] = std::move(v);
    content[k] = std::move(c);
  }
  void page(std::uint64_t page, const std::string& block, const Content& c, bool name = true) {
    b.ram_header(page * P, 0x08, name ? block : "").raw(c);
    set(key(block, page), hex_of(c), c);
  }
  void zero(std::uint64_t page, const std::string& block, std::uint8_t fill = 0, bool name = true) {
    b.ram_zero(page * P, name ? block : "", fill);
    char v[24];
    std::snprintf(v, sizeof v, "Filled with 0x%02x", fill);
    set(key(block, page), v, Content(P, std::byte{fill}));
  }
  void xbzrle(std::uint64_t page, const std::string& block, const Content& next) {
    const std::string k = key(block, page);
    Content prev = content.count(k) ? content[k] : Content(P);
    Content delta(P + P / 64 + 16);
    long n = xbzrle_encode(prev, next, delta, P);
    ASSERT_GT(n, 0);
    delta.resize(static_cast<std::size_t>(n));
    b.ram_xbzrle(page * P, block, delta);
    set(k, hex_of(next), next);
  }
  void compressed(std::uint64_t page, const std::string& block, const Content& c) {
    uLongf len = compressBound(P);
    Content z(len);
    ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(z.data()), &len, reinterpret_cast<const Bytef*>(c.data()), P, 6), Z_OK);
    z.resize(len);
    b.ram_compress(page * P, block, z);
    set(key(block, page), hex_of(c), c);
  }
  Members expected() const {
    Members m;
    for (const auto& k : order) m.emplace_back(k, value.at(k));
    return m;
  }
};

Members members_of(const std::string& json_text, const char* what = nullptr) {
  rapidjson::Document doc;
  doc.Parse(json_text.c_str(), json_text.size());
  EXPECT_FALSE(doc.HasParseError()) << json_text.substr(0, 200);
  Members m;
  if (doc.HasParseError() || !doc.IsObject()) return m;
  const rapidjson::Value* obj = &doc;
  if (what) {
    // {"ram (2)": {"section sizes": ..., "memory": {...}}, ...}
    auto ram = doc.FindMember(what);
    EXPECT_NE(ram, doc.MemberEnd());
    if (ram == doc.MemberEnd()) return m;
    auto mem = ram->value.FindMember("memory");
    EXPECT_NE(mem, ram->value.MemberEnd());
    if (mem == ram->value.MemberEnd()) return m;
    obj = &mem->value;
  }
  for (auto it = obj->MemberBegin(); it != obj->MemberEnd(); ++it) {
    EXPECT_TRUE(it->value.IsString());
    m.emplace_back(it->name.GetString(), it->value.IsString() ? it->value.GetString() : "");
  }
  return m;
}

// The index walk, then MemoryJson in a walk of its own, inside one object.
std::string memory_object(const std::vector<std::byte>& bytes) {
  auto loc = locate_stream(bytes);
  EXPECT_TRUE(loc.ok());
  PageIndex index{Bytes(bytes)};
  auto first = walk_stream(bytes, *loc, {}, index);
  EXPECT_TRUE(first.ok()) << first.error().message();
  std::string out;
  {
    json::OutBuffer buf(&out);
    json::PyWriter w(buf);
    w.start_object();
    MemoryJson memory(w, bytes, index);
    auto second = walk_stream(bytes, *loc, {}, memory);
    EXPECT_TRUE(second.ok()) << second.error().message();
    w.end_object();
  }
  return out;
}

StreamBuilder& ram_start(StreamBuilder& b, std::initializer_list<StreamBuilder::Block> blocks) {
  b.header().configuration("pc-q35-7.2");
  b.section_start(2, "ram", 0, 4).ram_mem_size(blocks).ram_eos().footer(2);
  return b;
}

TEST(MemoryJson, OneKeyPerPageInFirstAppearanceOrderWithTheFinalContent) {
  Script s;
  ram_start(s.b, {{"pc.ram", 16 * P}, {"vga.vram", 4 * P}});
  s.b.section_part(2);
  s.page(3, "pc.ram", pattern(1));
  s.zero(1, "pc.ram", 0, false);
  s.page(2, "vga.vram", pattern(2));
  s.page(3, "pc.ram", pattern(3));  // sent again: stays first, with this content
  s.page(9, "pc.ram", pattern(4));
  s.compressed(10, "pc.ram", pattern(5));
  s.b.ram_eos().footer(2);
  s.b.section_end(2);
  s.zero(9, "pc.ram");  // data, then a zero page: "Filled with 0x00"
  s.page(1, "pc.ram", pattern(6));  // a zero page, then data
  s.zero(0, "vga.vram", 0x5a);
  Content changed = pattern(2);
  changed[0] ^= std::byte{0xff};
  changed[4095] ^= std::byte{0x01};
  s.xbzrle(2, "vga.vram", changed);
  Content sparse(P);
  sparse[7] = std::byte{0x42};
  s.xbzrle(12, "pc.ram", sparse);  // never sent before: onto zeros
  s.b.ram_eos().footer(2).eof();

  const Members got = members_of(memory_object(s.b.vec()));
  const Members want = s.expected();
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(got.size(), 7u);  // distinct pages: the re-sent ones appear once
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first) << i;
    EXPECT_TRUE(got[i].second == want[i].second) << got[i].first << ": " << got[i].second.substr(0, 60);
  }
}

TEST(MemoryJson, FillsAndKeyFormat) {
  Script s;
  ram_start(s.b, {{"/rom@etc/acpi/tables", 0x20000}});
  s.b.section_part(2);
  s.zero(0x1f, "/rom@etc/acpi/tables", 0xff);
  s.zero(0, "/rom@etc/acpi/tables", 0x01);
  s.b.ram_eos().footer(2).eof();
  const std::string text = memory_object(s.b.vec());
  EXPECT_EQ(text,
            "{\n"
            "    \"/rom@etc/acpi/tables (0x000000000001f000)\": \"Filled with 0xff\",\n"
            "    \"/rom@etc/acpi/tables (0x0000000000000000)\": \"Filled with 0x01\"\n"
            "}");
  EXPECT_EQ(members_of(text), s.expected());
}

TEST(MemoryJson, NoPagesGiveAnEmptyObject) {
  StreamBuilder b;
  ram_start(b, {{"pc.ram", 4 * P}});
  b.section_end(2).ram_eos().footer(2).eof();
  EXPECT_TRUE(members_of(memory_object(b.vec())).empty());
}

// As `state -m` runs it (core/ops/state.cpp): the memory object is written by
// a walk nested in the state walk, when it reaches the RAM section.
TEST(MemoryJson, NestedInTheStateOfTheRamSection) {
  Script s;
  ram_start(s.b, {{"pc.ram", 8 * P}});
  s.b.section_part(2);
  s.page(4, "pc.ram", pattern(7));
  s.zero(2, "pc.ram", 0, false);
  s.b.ram_eos().footer(2);
  s.b.section_end(2);
  s.page(2, "pc.ram", pattern(8));
  s.b.ram_eos().footer(2).eof();
  const std::vector<std::byte> bytes = s.b.vec();
  auto loc = locate_stream(bytes);
  ASSERT_TRUE(loc.ok());
  PageIndex index{Bytes(bytes)};
  ASSERT_TRUE(walk_stream(bytes, *loc, {}, index).ok());
  std::string out;
  {
    json::OutBuffer buf(&out);
    json::PyWriter w(buf);
    StateJsonSink sink(w);
    int nested = 0;
    sink.set_memory_writer([&](json::PyWriter& writer) -> Status {
      ++nested;
      MemoryJson memory(writer, bytes, index);
      auto r = walk_stream(bytes, *loc, {}, memory);
      if (!r.ok()) return std::move(r).error();
      return {};
    });
    sink.begin();
    auto st = walk_stream(bytes, *loc, {}, sink);
    ASSERT_TRUE(st.ok()) << st.error().message();
    sink.finish();
    EXPECT_EQ(nested, 1);
  }
  EXPECT_EQ(members_of(out, "ram (2)"), s.expected());
}

}  // namespace
}  // namespace migscope
