// Golden tests over the real corpus. Every stream found under
// <build>/corpus/streams*/ (decompressed by the build from corpus/**/*.xz) is
// checked, so new corpus files are covered without touching this file:
//  - a golden <name>.state.json / <name>.desc.json in corpus/golden*/ (or its
//    .xz, decompressed into <build>/corpus/golden*/) must equal the output of
//    `migscope state|desc` and `analyze-migration -d state|desc` byte for byte;
//  - without a golden, `migscope state` must still succeed with valid JSON;
//  - either way, the state lists exactly the START/FULL sections that
//    `migscope info --json` lists, in order of first appearance.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "test_paths.h"

namespace migscope::test {
namespace {

namespace fs = std::filesystem;

struct CorpusStream {
  std::string name;         ///< file stem, e.g. x86_64-q35-7.2
  std::string path;         ///< the decompressed stream
  std::string golden_dir;   ///< e.g. golden or golden-10.0 (relative to corpus/)
  std::string test_name;    ///< for GTest
};

void PrintTo(const CorpusStream& s, std::ostream* os) { *os << s.path; }

std::string build_corpus_dir() { return binary_dir() + "/corpus"; }

std::vector<CorpusStream> discover() {
  std::vector<CorpusStream> out;
  std::error_code ec;
  const fs::path root = build_corpus_dir();
  if (!fs::is_directory(root, ec)) return out;
  for (const auto& dir : fs::directory_iterator(root, ec)) {
    const std::string dname = dir.path().filename().string();
    if (!dir.is_directory() || dname.rfind("streams", 0) != 0) continue;
    const std::string suffix = dname.substr(7);
    for (const auto& f : fs::directory_iterator(dir.path(), ec)) {
      if (!f.is_regular_file() || f.path().extension() != ".mig") continue;
      CorpusStream s;
      s.name = f.path().stem().string();
      s.path = f.path().string();
      s.golden_dir = "golden" + suffix;
      for (char c : dname + "_" + s.name) s.test_name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      out.push_back(std::move(s));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.test_name < b.test_name; });
  return out;
}

/// The golden file's path, committed as plain JSON or decompressed by the build; "" if none.
/// Upstream's output where upstream succeeds; else a hand-reviewed one from
/// corpus/golden-reviewed/ (see its README).
std::string golden(const CorpusStream& s, const std::string& kind) {
  for (const std::string& dir : {s.golden_dir, std::string("golden-reviewed")}) {
    const std::string rel = "/" + dir + "/" + s.name + "." + kind + ".json";
    for (const std::string& base : {corpus_dir(), build_corpus_dir()})
      if (fs::is_regular_file(base + rel)) return base + rel;
  }
  return {};
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

struct CommandRun {
  int status;
  std::string out;
  std::string err;
};

CommandRun run(const std::string& cmd) {
  static int counter = 0;
  const std::string err_path =
      (fs::temp_directory_path() / ("migscope-golden-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".err"))
          .string();
  CommandRun r;
  r.status = run_command(cmd + " 2>" + quote(err_path), &r.out);
  r.err = read_file(err_path);
  fs::remove(err_path);
  return r;
}

/// Keys of the top-level object in document order, or an error text.
bool top_level_keys(const std::string& json, std::vector<std::string>* keys, std::string* why) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(json.c_str(), json.size());
  if (d.HasParseError()) {
    *why = "not valid JSON (error at byte " + std::to_string(d.GetErrorOffset()) + ")";
    return false;
  }
  if (!d.IsObject()) {
    *why = "not a JSON object";
    return false;
  }
  for (auto it = d.MemberBegin(); it != d.MemberEnd(); ++it) keys->emplace_back(it->name.GetString(), it->name.GetStringLength());
  return true;
}

struct InfoSections {
  std::vector<std::string> keys;  ///< "<idstr> (<id>)" of START/FULL sections, first appearance order
  bool has_vmdesc = false;
};

bool info_sections(const std::string& json, InfoSections* info, std::string* why) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("sections") || !d["sections"].IsArray()) {
    *why = "migscope info --json printed no sections array";
    return false;
  }
  std::set<std::string> seen;
  for (const auto& s : d["sections"].GetArray()) {
    std::string type = s["type"].GetString();
    if (type != "SECTION_START" && type != "SECTION_FULL") continue;
    std::string key = std::string(s["name"].GetString()) + " (" + std::to_string(s["id"].GetUint64()) + ")";
    if (seen.insert(key).second) info->keys.push_back(key);
  }
  if (d.HasMember("vmdesc") && d["vmdesc"].IsObject() && d["vmdesc"].HasMember("source"))
    info->has_vmdesc = std::string(d["vmdesc"]["source"].GetString()) != "none";
  return true;
}

// First differing line, for a readable failure on multi-MB outputs.
std::string first_difference(const std::string& a, const std::string& b) {
  std::size_t i = 0, line = 1;
  while (i < a.size() && i < b.size() && a[i] == b[i]) {
    if (a[i] == '\n') ++line;
    ++i;
  }
  auto excerpt = [&](const std::string& s) {
    std::size_t start = s.rfind('\n', i == 0 ? 0 : i - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::size_t end = s.find('\n', i);
    return s.substr(start, std::min<std::size_t>(end == std::string::npos ? s.size() - start : end - start, 200));
  };
  return "first difference at byte " + std::to_string(i) + " (line " + std::to_string(line) + "):\n  got:    " +
         excerpt(a) + "\n  golden: " + excerpt(b) + "\n  sizes: got " + std::to_string(a.size()) + ", golden " +
         std::to_string(b.size());
}

class CorpusGolden : public ::testing::TestWithParam<CorpusStream> {};

TEST_P(CorpusGolden, StateAndDesc) {
  const CorpusStream& s = GetParam();
  const std::string migscope = quote(tool_path("migscope"));
  const std::string analyze = quote(tool_path("analyze-migration"));
  const std::string file = quote(s.path);

  CommandRun info_run = run(migscope + " info --json " + file);
  ASSERT_EQ(info_run.status, 0) << info_run.err;
  InfoSections info;
  std::string why;
  ASSERT_TRUE(info_sections(info_run.out, &info, &why)) << why;
  ASSERT_FALSE(info.keys.empty()) << "info lists no START/FULL section";

  CommandRun state = run(migscope + " state " + file);
  ASSERT_EQ(state.status, 0) << state.err;
  std::vector<std::string> keys;
  ASSERT_TRUE(top_level_keys(state.out, &keys, &why)) << why;
  // Every START/FULL section, once, in order of first appearance.
  std::vector<std::string> unique_keys;
  std::set<std::string> seen;
  for (const auto& k : keys)
    if (seen.insert(k).second) unique_keys.push_back(k);
  EXPECT_EQ(unique_keys, info.keys);

  const std::string state_golden = golden(s, "state");
  if (!state_golden.empty()) {
    const std::string expected = read_file(state_golden);
    ASSERT_FALSE(expected.empty()) << state_golden;
    EXPECT_TRUE(state.out == expected) << "migscope state vs " << state_golden << ": " << first_difference(state.out, expected);
    CommandRun drop_in = run(analyze + " -f " + file + " -d state");
    EXPECT_EQ(drop_in.status, 0) << drop_in.err;
    EXPECT_TRUE(drop_in.out == expected) << "analyze-migration -d state vs " << state_golden << ": "
                                         << first_difference(drop_in.out, expected);
  } else if (!info.has_vmdesc) {
    // No description: every section is still listed; device sections are raw bytes.
    EXPECT_TRUE(state.err.find("no VMDESCRIPTION") != std::string::npos) << state.err;
  }

  const std::string desc_golden = golden(s, "desc");
  CommandRun desc = run(migscope + " desc " + file);
  if (!desc_golden.empty()) {
    const std::string expected = read_file(desc_golden);
    EXPECT_EQ(desc.status, 0) << desc.err;
    EXPECT_TRUE(desc.out == expected) << "migscope desc vs " << desc_golden << ": " << first_difference(desc.out, expected);
    CommandRun drop_in = run(analyze + " --file=" + file + " -d desc");
    EXPECT_EQ(drop_in.status, 0) << drop_in.err;
    EXPECT_TRUE(drop_in.out == expected) << "analyze-migration -d desc vs " << desc_golden << ": "
                                         << first_difference(drop_in.out, expected);
  } else if (info.has_vmdesc) {
    EXPECT_EQ(desc.status, 0) << desc.err;
    std::vector<std::string> desc_keys;
    ASSERT_TRUE(top_level_keys(desc.out, &desc_keys, &why)) << why;
    EXPECT_NE(std::find(desc_keys.begin(), desc_keys.end(), "devices"), desc_keys.end());
  } else {
    // Without a trailer there is nothing to print: an error, and no output.
    EXPECT_NE(desc.status, 0);
    EXPECT_TRUE(desc.out.empty()) << desc.out.substr(0, 200);
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusGolden, ::testing::ValuesIn(discover()),
                         [](const ::testing::TestParamInfo<CorpusStream>& p) { return p.param.test_name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CorpusGolden);

TEST(CorpusGoldenSetup, CorpusIsPresent) {
  if (!fs::is_directory(build_corpus_dir())) GTEST_SKIP() << "no corpus in " << build_corpus_dir();
  // The build decompresses every committed stream: none may be missing.
  std::size_t committed = 0;
  for (const auto& f : fs::recursive_directory_iterator(corpus_dir())) {
    const std::string p = f.path().string();
    if (p.size() > 7 && p.compare(p.size() - 7, 7, ".mig.xz") == 0 &&
        f.path().parent_path().filename().string().rfind("streams", 0) == 0 &&
        f.path().parent_path().parent_path() == fs::path(corpus_dir()))
      ++committed;
  }
  EXPECT_EQ(discover().size(), committed);
  EXPECT_GT(committed, 0u);
}

TEST(CorpusGoldenSetup, EveryGoldenHasItsStream) {
  if (!fs::is_directory(build_corpus_dir())) GTEST_SKIP() << "no corpus in " << build_corpus_dir();
  std::set<std::string> streams;
  for (const auto& s : discover()) {
    streams.insert(s.golden_dir + "/" + s.name);
    streams.insert("golden-reviewed/" + s.name);
  }
  for (const auto& dir : fs::directory_iterator(corpus_dir())) {
    const std::string dname = dir.path().filename().string();
    if (!dir.is_directory() || dname.rfind("golden", 0) != 0) continue;
    for (const auto& f : fs::directory_iterator(dir.path())) {
      std::string n = f.path().filename().string();
      for (const std::string suffix : {".state.json", ".state.json.xz", ".desc.json", ".desc.json.xz"}) {
        if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
          std::string stem = n.substr(0, n.size() - suffix.size());
          EXPECT_TRUE(streams.count(dname + "/" + stem)) << "golden without a stream: " << dname << "/" << n;
        }
      }
    }
  }
}

}  // namespace
}  // namespace migscope::test
