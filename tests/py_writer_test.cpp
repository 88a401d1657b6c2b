// Python-compatible JSON output: json.dumps(ensure_ascii=True, indent=4,
// separators=(',', ': ')) as upstream analyze-migration.py prints it.
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "json/py_writer.h"
#include "json/python_dump.h"

namespace migscope::json {
namespace {

std::string py(std::string_view s) {
  std::string out;
  append_python_string(out, s);
  return out;
}

// Expected values below are what Python 3's json.dumps prints for the same text.
TEST(PythonString, QuoteAndBackslashButNotSlash) { EXPECT_EQ(py("a\"b\\c/"), R"("a\"b\\c/")"); }

TEST(PythonString, ShortEscapesForCommonControls) { EXPECT_EQ(py("\n\r\t\b\f"), R"("\n\r\t\b\f")"); }

TEST(PythonString, OtherControlsAndDelAsLowercaseU) {
  EXPECT_EQ(py(std::string_view("\x00\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
  EXPECT_EQ(py("\x1b"), R"("\u001b")");
}

TEST(PythonString, NonAsciiIsEscaped) {
  EXPECT_EQ(py("caf\xc3\xa9"), R"("caf\u00e9")");
  EXPECT_EQ(py("\xe0\xa0\x80"), R"("\u0800")");
  EXPECT_EQ(py("\xe2\x80\xa8\xef\xbf\xbf"), R"("\u2028\uffff")");
}

TEST(PythonString, AstralCharactersBecomeSurrogatePairs) {
  EXPECT_EQ(py("\xf0\x9f\x98\x80"), R"("\ud83d\ude00")");
  EXPECT_EQ(py("\xf4\x8f\xbf\xbf"), R"("\udbff\udfff")");
}

TEST(PythonString, PrintableAsciiIsVerbatim) {
  std::string all;
  for (char c = 0x20; c < 0x7f; ++c)
    if (c != '"' && c != '\\') all += c;
  EXPECT_EQ(py(all), "\"" + all + "\"");
  EXPECT_EQ(py(""), "\"\"");
}

TEST(PythonString, MalformedUtf8FallsBackToOneByteCodePoints) {
  // Never produced by QEMU (its JSON is ASCII), but must not over-read or drop bytes.
  EXPECT_EQ(py("\xff"), R"("\u00ff")");
  EXPECT_EQ(py("\xc3"), R"("\u00c3")");           // truncated sequence at the end
  EXPECT_EQ(py("\xe2\x80"), R"("\u00e2\u0080")");  // truncated 3-byte sequence
  EXPECT_EQ(py("\xc0\xaf"), R"("\u00c0\u00af")");  // overlong
}

std::string write(void (*f)(PyWriter&)) {
  std::string out;
  {
    OutBuffer buf(&out);
    PyWriter w(buf);
    f(w);
  }
  return out;
}

std::string js(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonString, WellFormedUtf8IsKeptAndControlsEscaped) {
  EXPECT_EQ(js("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(js("a\"b\\\n\x01\x7f"), R"("a\"b\\\n\u0001\u007f")");
}

TEST(JsonString, MalformedUtf8BecomesReplacementCharactersAndStaysValidJson) {
  // A lone continuation byte, a cut sequence, an overlong form (a byte each),
  // an encoded surrogate (one for the sequence), a byte that never starts UTF-8.
  const std::string text = js("x\x80y\xe2\x82z\xc0\xafw\xed\xa0\x80v\xff");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str());
  ASSERT_FALSE(doc.HasParseError()) << text;
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(std::string(doc.GetString(), doc.GetStringLength()),
            "x" + r + "y" + r + r + "z" + r + r + "w" + r + "v" + r);
}

TEST(PyWriter, LayoutLikePythonIndent4) {
  std::string out = write([](PyWriter& w) {
    w.start_object();
    w.key("e"); w.start_object(); w.end_object();
    w.key("l"); w.start_array(); w.end_array();
    w.key("n");
    w.start_array();
    w.uint64(1); w.int64(-2); w.boolean(true); w.boolean(false); w.null(); w.string("x");
    w.start_object(); w.key("k"); w.start_array(); w.end_array(); w.end_object();
    w.end_array();
    w.key("o"); w.start_object(); w.key("p"); w.start_object(); w.key("q"); w.string("r"); w.end_object(); w.end_object();
    w.end_object();
    w.end_document();
  });
  EXPECT_EQ(out,
            "{\n"
            "    \"e\": {},\n"
            "    \"l\": [],\n"
            "    \"n\": [\n"
            "        1,\n"
            "        -2,\n"
            "        true,\n"
            "        false,\n"
            "        null,\n"
            "        \"x\",\n"
            "        {\n"
            "            \"k\": []\n"
            "        }\n"
            "    ],\n"
            "    \"o\": {\n"
            "        \"p\": {\n"
            "            \"q\": \"r\"\n"
            "        }\n"
            "    }\n"
            "}\n");
}

TEST(PyWriter, KeysAreEscapedToo) {
  std::string out = write([](PyWriter& w) {
    w.start_object();
    w.key("a\"\xc3\xa9");
    w.uint64(18446744073709551615ull);
    w.end_object();
    w.end_document();
  });
  EXPECT_EQ(out, "{\n    \"a\\\"\\u00e9\": 18446744073709551615\n}\n");
}

TEST(OutBuffer, LargeOutputIsFlushedCompletely) {
  std::string out;
  {
    OutBuffer buf(&out);
    for (int i = 0; i < 200000; ++i) buf.Put(static_cast<char>('a' + i % 26));
  }  // the destructor flushes
  ASSERT_EQ(out.size(), 200000u);
  EXPECT_EQ(out[65535], static_cast<char>('a' + 65535 % 26));
  EXPECT_EQ(out.back(), static_cast<char>('a' + 199999 % 26));
}

std::string dump(const char* json) {
  rapidjson::Document d;
  d.Parse(json);
  EXPECT_FALSE(d.HasParseError()) << json;
  std::string out;
  {
    OutBuffer buf(&out);
    PyWriter w(buf);
    write_python_json(w, d);
    w.end_document();
  }
  return out;
}

TEST(PythonDump, DuplicateKeysKeepFirstPositionAndLastValue) {
  EXPECT_EQ(dump(R"({"a": 1, "b": 2, "a": 3})"), "{\n    \"a\": 3,\n    \"b\": 2\n}\n");
}

TEST(PythonDump, NestedDuplicatesAndValues) {
  EXPECT_EQ(dump(R"({"x": [{"k": "v", "k": {"z": []}}, -5, 1.5, true, null], "y": {}})"),
            "{\n"
            "    \"x\": [\n"
            "        {\n"
            "            \"k\": {\n"
            "                \"z\": []\n"
            "            }\n"
            "        },\n"
            "        -5,\n"
            "        1.5,\n"
            "        true,\n"
            "        null\n"
            "    ],\n"
            "    \"y\": {}\n"
            "}\n");
}

TEST(PythonDump, VmdescLikeDocumentKeepsKeyOrderAndEscapes) {
  // QEMU's JSONWriter output style (", " and ": " separators) re-encoded.
  EXPECT_EQ(dump(R"({"page_size": 4096, "devices": [{"name": "0000:00:1f.2/ich9_ahci", "instance_id": 0}]})"),
            "{\n"
            "    \"page_size\": 4096,\n"
            "    \"devices\": [\n"
            "        {\n"
            "            \"name\": \"0000:00:1f.2/ich9_ahci\",\n"
            "            \"instance_id\": 0\n"
            "        }\n"
            "    ]\n"
            "}\n");
  EXPECT_EQ(dump(R"({"s": "\u00e9\u001f\/"})"), "{\n    \"s\": \"\\u00e9\\u001f/\"\n}\n");
}

}  // namespace
}  // namespace migscope::json
