// json::parse_in_place against json::parse: the same values, the same errors
// at the same offsets, whatever the text (the in-place parser skips
// whitespace 16 bytes at a time and stops at a NUL, the bounded one does not).
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "json/json_util.h"

namespace migscope::json {
namespace {

std::string serialise(const rapidjson::Document& doc) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  doc.Accept(w);
  return {sb.GetString(), sb.GetSize()};
}

void expect_same(const std::string& text, Trailing trailing = Trailing::rejected) {
  SCOPED_TRACE(testing::Message() << "text of " << text.size() << " bytes: " << text.substr(0, 60));
  rapidjson::Document bounded, in_place;
  const Status a = parse(text, bounded, "-dump-vmstate", trailing);
  std::string copy = text;
  const Status b = parse_in_place(copy, in_place, "-dump-vmstate", trailing);
  ASSERT_EQ(a.ok(), b.ok());
  if (!a.ok()) {
    EXPECT_EQ(a.error().code, b.error().code);
    EXPECT_EQ(a.error().offset, b.error().offset);
    EXPECT_EQ(a.error().detail, b.error().detail);
    return;
  }
  EXPECT_EQ(serialise(bounded), serialise(in_place));
}

TEST(JsonParseInPlace, SameValuesAsTheBoundedParse) {
  expect_same(R"({"a": 1, "b": [true, false, null], "c": {"d": "e\u00e9\n\"x\""}, "f": -1.5e3})");
  expect_same("[]");
  expect_same("  \n\t {}  \n");
  // Indentation as -dump-vmstate writes it, long runs of spaces on both sides
  // of every 16-byte boundary.
  std::string indented = "{\n";
  for (int i = 0; i < 200; ++i) {
    indented += std::string(static_cast<std::size_t>(i % 37), ' ') + "\"k" + std::to_string(i) + "\":" +
                std::string(static_cast<std::size_t>(i % 19), ' ') + "[" + std::to_string(i) + "]" +
                (i + 1 < 200 ? ",\n" : "\n");
  }
  indented += "}";
  expect_same(indented);
}

TEST(JsonParseInPlace, SameErrorsAtTheSameOffsets) {
  for (const char* bad : {"", "   ", "{", "{\"a\":", "{\"a\" 1}", "[1,]", "{\"a\":1}x", "{\"a\":1} {}", "nul",
                          "\"\\q\"", "{\"a\":\"\xff\"}", "{\"a\":\"\xc3\"}", "x{}", "{\"a\":1e999999}",
                          "{\"a\":\"\x01\"}", "{\"a\": 1}                                   ,"})
    expect_same(bad);
  std::string deep(100000, '[');
  expect_same(deep);
}

TEST(JsonParseInPlace, ANulByteIsReportedWhereItIs) {
  expect_same(std::string("{\"a\":1}\0", 8));
  expect_same(std::string("{\"a\":\0 1}", 9));
  expect_same(std::string("{\"a\":\"x\0y\"}", 11));
  rapidjson::Document doc;
  std::string text("{\"a\":\0 1}", 9);
  const Status st = parse_in_place(text, doc, "JSON");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().offset, 5u);
}

TEST(JsonParseInPlace, TrailingBytesIgnoredWhenAsked) {
  expect_same("{\"a\":1}\n\n  garbage", Trailing::ignored);
  expect_same("{\"a\":1}\n\n  garbage", Trailing::rejected);
}

}  // namespace
}  // namespace migscope::json
