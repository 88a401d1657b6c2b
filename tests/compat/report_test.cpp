// Reports (text, JSON, JUnit), baselines, --fail-on, and `migscope check`.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "migscope/compat.h"
#include "../test_paths.h"

namespace migscope::compat {
namespace {

// Upstream's test pair and the small synthetic documents here leave out
// entries QEMU always writes; the checker is tested on them as upstream's is.
ParseLimits lenient() {
  ParseLimits l;
  l.lenient = true;
  return l;
}

namespace fs = std::filesystem;

std::string vmstate_dir() { return test::corpus_dir() + "/vmstate"; }

CheckReport upstream_pair_report() {
  auto s = parse_vmstate_dump(test::read_file(vmstate_dir() + "/upstream/dump1.json"), lenient());
  auto d = parse_vmstate_dump(test::read_file(vmstate_dir() + "/upstream/dump2.json"), lenient());
  auto names = builtin_renames();
  EXPECT_TRUE(s.ok() && d.ok() && names.ok());
  return check_vmstate(*s, *d, *names);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "migscope-report-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

// Minimal XML 1.0 well-formedness check for what render_junit emits: one
// root, balanced tags, quoted attributes, only known entities, no control
// characters. (xmllint, when installed, validates too.)
bool well_formed_xml(const std::string& x, std::string* why) {
  std::vector<std::string> stack;
  std::size_t i = 0, roots = 0;
  auto fail = [&](const std::string& w) {
    *why = w + " at " + std::to_string(i);
    return false;
  };
  if (x.rfind("<?xml ", 0) == 0) i = x.find("?>") + 2;
  while (i < x.size()) {
    unsigned char c = static_cast<unsigned char>(x[i]);
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return fail("control character");
    if (c == '&') {
      std::size_t semi = x.find(';', i);
      if (semi == std::string::npos) return fail("bad entity");
      std::string ent = x.substr(i, semi - i + 1);
      if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;" &&
          ent.rfind("&#", 0) != 0)
        return fail("unknown entity " + ent);
      i = semi + 1;
      continue;
    }
    if (c != '<') {
      if (c == '>') return fail("stray >");
      if (stack.empty() && c != '\n' && c != ' ') return fail("text outside root");
      ++i;
      continue;
    }
    bool closing = x[i + 1] == '/';
    std::size_t j = i + (closing ? 2 : 1), name_start = j;
    while (j < x.size() && (std::isalnum(static_cast<unsigned char>(x[j])) || x[j] == '-' || x[j] == '_')) ++j;
    std::string name = x.substr(name_start, j - name_start);
    if (name.empty()) return fail("empty tag name");
    bool self_closing = false;
    while (j < x.size() && x[j] != '>') {
      if (x[j] == '"') {
        std::size_t end = x.find('"', j + 1);
        if (end == std::string::npos) return fail("unterminated attribute");
        if (x.substr(j, end - j).find('<') != std::string::npos) return fail("< in attribute");
        j = end + 1;
        continue;
      }
      if (x[j] == '/' && x[j + 1] == '>') self_closing = true;
      ++j;
    }
    if (j >= x.size()) return fail("unterminated tag");
    if (closing) {
      if (stack.empty() || stack.back() != name) return fail("mismatched </" + name + ">");
      stack.pop_back();
    } else if (!self_closing) {
      if (stack.empty()) ++roots;
      stack.push_back(name);
    } else if (stack.empty()) {
      ++roots;
    }
    i = j + 1;
  }
  if (!stack.empty()) return fail("unclosed <" + stack.back() + ">");
  if (roots != 1) return fail("expected one root element");
  return true;
}

TEST(Report, TextEndsWithTheSummaryLine) {
  auto report = upstream_pair_report();
  ReportOptions o;
  // The library names no command-line flag; the CLI passes its own.
  EXPECT_NE(summary_line(report, o).find("13 failing at warning: FAIL"), std::string::npos);
  o.fail_on_name = "--fail-on";
  std::string text = render_text(report, o);
  EXPECT_NE(text.find("info: checking incompatible machine types"), std::string::npos);
  EXPECT_NE(text.find("error: Section \"fusbh200-ehci-usb\" version error: 2 > 1 [version_too_new "), std::string::npos);
  EXPECT_EQ(summary_line(report, o),
            "migscope check: 14 findings (10 error, 3 warning, 1 info), 0 baselined, 13 failing at --fail-on "
            "warning: FAIL");
  EXPECT_EQ(text.substr(text.size() - summary_line(report, o).size() - 1), summary_line(report, o) + "\n");
  o.fail_on = Severity::error;
  EXPECT_EQ(summarize(report, o).failing, 10u);
  o.fail_on = Severity::info;
  EXPECT_EQ(summarize(report, o).failing, 14u);
}

TEST(Report, JsonIsValidAndComplete) {
  auto report = upstream_pair_report();
  ReportOptions o;
  o.src_name = "dump1.json";
  o.dest_name = "dump2.json";
  std::string json = render_json(report, o);
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_STREQ(doc["schema"].GetString(), "migscope-check/1");
  EXPECT_STREQ(doc["src_machine"].GetString(), "pc-i440fx-2.1");
  ASSERT_TRUE(doc["findings"].IsArray());
  ASSERT_EQ(doc["findings"].Size(), 14u);
  const auto& f = doc["findings"][13];
  EXPECT_STREQ(f["kind"].GetString(), "size_mismatch");
  EXPECT_STREQ(f["severity"].GetString(), "warning");
  EXPECT_STREQ(f["section"].GetString(), "usb-kbd");
  EXPECT_STREQ(f["field"].GetString(), "kbd.keycodes");
  EXPECT_STREQ(f["src"].GetString(), "4");
  EXPECT_STREQ(f["dest"].GetString(), "2");
  EXPECT_STREQ(f["id"].GetString(), report.findings[13].id.c_str());
  EXPECT_TRUE(f["failing"].GetBool());
  EXPECT_EQ(doc["summary"]["upstream_exit_status"].GetInt(), 13);
  EXPECT_EQ(doc["summary"]["failing"].GetInt(), 13);
}

TEST(Report, JunitIsWellFormedXml) {
  auto report = upstream_pair_report();
  // Names with XML specials and a control character must survive.
  Finding odd = report.findings[1];
  odd.section = "a<b>&\"c\"\x01";
  odd.message = "Section \"a<b>&\" does not exist in dest";
  report.findings.push_back(odd);
  ReportOptions o;
  o.src_name = "src & <one>";
  o.dest_name = "dest";
  std::string xml = render_junit(report, o);
  std::string why;
  EXPECT_TRUE(well_formed_xml(xml, &why)) << why << "\n" << xml;
  EXPECT_NE(xml.find("<testcase classname=\"vmstate\" name=\"usb-kbd\">"), std::string::npos);
  EXPECT_NE(xml.find("<failure type=\"size_mismatch\""), std::string::npos);
  if (test::run_command("xmllint --version", nullptr, true) != 0) GTEST_SKIP() << "xmllint not installed";
  TempDir tmp;
  write(tmp.file("r.xml"), xml);
  std::string out;
  EXPECT_EQ(test::run_command("xmllint --noout '" + tmp.file("r.xml") + "'", &out, true), 0) << out;
}

TEST(Report, BaselineRoundTrip) {
  auto report = upstream_pair_report();
  std::string text = write_baseline(report);
  auto b = parse_baseline(text);
  ASSERT_TRUE(b.ok()) << b.error().message();
  EXPECT_EQ(b->ids.size(), 14u);
  ReportOptions o;
  o.baseline = &*b;
  Summary s = summarize(report, o);
  EXPECT_EQ(s.baselined, 14u);
  EXPECT_EQ(s.failing, 0u);
  // A baseline written again from the same findings is byte-identical.
  EXPECT_EQ(write_baseline(report), text);
  // Forget one finding: it alone fails.
  Baseline partial = *b;
  partial.ids.erase(report.findings[2].id);
  o.baseline = &partial;
  EXPECT_EQ(summarize(report, o).failing, 1u);
  auto bare = parse_baseline(R"({"ids": ["abc"]})");
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->contains("abc"));
  for (const char* bad : {"{}", R"({"findings": [{}]})", R"({"findings": [{"id": 1}]})", "[", R"({"ids": [1]})"})
    EXPECT_FALSE(parse_baseline(bad).ok()) << bad;
  EXPECT_EQ(write_baseline(CheckReport{}), "{\n  \"schema\": \"migscope-baseline/1\",\n  \"findings\": []\n}\n");
}

// ---- the CLI

std::string migscope() {
  std::string cmd(1, '\'');
  cmd += test::tool_path("migscope");
  cmd += "' check ";
  return cmd;
}

std::string check_lenient() { return migscope() + "--lenient "; }

TEST(CheckCommand, ExitCodesFormatsBaselinesAndRenames) {
  std::string d1 = vmstate_dir() + "/upstream/dump1.json", d2 = vmstate_dir() + "/upstream/dump2.json";
  TempDir tmp;
  std::string out;
  // Upstream's pair is not QEMU's output as written (dump2 has a section
  // without a Description): a strict check refuses it with the JSON path.
  EXPECT_EQ(test::run_command(migscope() + d1 + " " + d2, &out, true), 5);
  EXPECT_NE(out.find("dump2.json: invalid JSON: $[\"cfi.pflash01\"]: missing key \"Description\""), std::string::npos)
      << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + d1 + " " + d2, &out), 1);
  EXPECT_NE(out.find("13 failing at --fail-on warning: FAIL"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + d1 + " " + d1, &out), 1);  // dump1 has a PIIX3 min-version error itself
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + "--fail-on error " + d2 + " " + d2, &out), 1) << out;  // fdc min version
  out.clear();
  std::string ref = vmstate_dir() + "/reference/x86_64-pc-q35-7.2.json";
  EXPECT_EQ(test::run_command(check_lenient() + ref + " " + ref, &out), 0) << out;
  EXPECT_NE(out.find("migscope check: 0 findings"), std::string::npos) << out;

  // JSON to a file, summary on stderr.
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + "--format json -o " + tmp.file("r.json") + " " + d1 + " " + d2, &out, true), 1);
  EXPECT_NE(out.find("migscope check: 14 findings"), std::string::npos) << out;
  rapidjson::Document doc;
  std::string json = test::read_file(tmp.file("r.json"));
  doc.Parse(json.data(), json.size());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_EQ(doc["findings"].Size(), 14u);

  // JUnit via the CLI, validated.
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + "--format junit " + d1 + " " + d2 + " --reverse", &out), 1);
  std::string why;
  EXPECT_TRUE(well_formed_xml(out, &why)) << why;
  EXPECT_NE(out.find("(reverse)"), std::string::npos);

  // Baseline: record, then only new findings fail.
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + "--write-baseline " + tmp.file("base.json") + " " + d1 + " " + d2, &out), 1);
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + "--baseline " + tmp.file("base.json") + " " + d1 + " " + d2, &out), 0) << out;
  EXPECT_NE(out.find("14 baselined, 0 failing"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + "--baseline " + tmp.file("base.json") + " --reverse " + d1 + " " + d2, &out), 1);

  // Renames file: the tpci200 description rename and the usbsts rename go away.
  write(tmp.file("renames.json"),
        R"({"fields": {"tpci200": ["tpci200", "tpci2002"], "ehci-core": ["usbsts", "usbsts_pending"]}})");
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + "--renames " + tmp.file("renames.json") + " " + d1 + " " + d2, &out), 1);
  EXPECT_EQ(out.find("tpci2002"), std::string::npos) << out;
  EXPECT_EQ(out.find("expected field \"usbsts\", got \"usbsts_pending\""), std::string::npos) << out;
  // With usbsts ~ usbsts_pending the walk goes on and meets the next difference.
  EXPECT_NE(out.find("expected field \"usbsts_pending\", got \"usbsts_frindex\""), std::string::npos) << out;
  EXPECT_NE(out.find("13 findings"), std::string::npos) << out;

  // Errors.
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + d1, &out, true), 2);
  EXPECT_EQ(test::run_command(check_lenient() + "--format xml " + d1 + " " + d2, &out, true), 2);
  EXPECT_EQ(test::run_command(check_lenient() + "--fail-on fatal " + d1 + " " + d2, &out, true), 2);
  EXPECT_EQ(test::run_command(check_lenient() + "--bogus " + d1 + " " + d2, &out, true), 2);
  EXPECT_EQ(test::run_command(check_lenient() + "/nonexistent.json " + d2, &out, true), 7);
  write(tmp.file("trunc.json"), test::read_file(d1).substr(0, 1000));
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + tmp.file("trunc.json") + " " + d2, &out, true), 5);
  EXPECT_NE(out.find("invalid JSON"), std::string::npos) << out;
  write(tmp.file("deep.json"), std::string(100000, '['));
  EXPECT_EQ(test::run_command(check_lenient() + tmp.file("deep.json") + " " + d2, &out, true), 5);
  write(tmp.file("types.json"), R"({"fw_cfg": {"version_id": "2"}})");
  out.clear();
  EXPECT_EQ(test::run_command(check_lenient() + tmp.file("types.json") + " " + d2, &out, true), 5);
  EXPECT_NE(out.find("$.fw_cfg.version_id: expected an integer, got a string"), std::string::npos) << out;
  EXPECT_EQ(test::run_command(check_lenient() + "--renames " + tmp.file("types.json") + " " + d1 + " " + d2, &out, true), 5);
  EXPECT_EQ(test::run_command(check_lenient() + d1 + " " + vmstate_dir() + "/vmdesc/x86_64-pc-q35-7.2.json", &out, true), 2);
}

TEST(CheckCommand, ComparesTheVmdescOfTwoRealStreams) {
  if (test::run_command("xz --version", nullptr) != 0) GTEST_SKIP() << "xz not installed";
  TempDir tmp;
  std::string old_mig = tmp.file("q35-4.2.mig"), new_mig = tmp.file("q35-7.2.mig");
  ASSERT_EQ(test::run_command("xz -dc '" + vmstate_dir() + "/streams/x86_64-pc-q35-4.2.mig.xz' > '" + old_mig + "'", nullptr), 0);
  ASSERT_EQ(test::run_command("xz -dc '" + vmstate_dir() + "/streams/x86_64-pc-q35-7.2.mig.xz' > '" + new_mig + "'", nullptr), 0);
  std::string out;
  int rc = test::run_command(migscope() + old_mig + " " + new_mig, &out, true);
  if (out.find("not built in") != std::string::npos) GTEST_SKIP() << "stream reading not built";
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Subsection \"fw_cfg/acpi_mr\" only in dest [subsection_added"), std::string::npos) << out;
  EXPECT_NE(out.find("0 failing"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(test::run_command(migscope() + "--reverse " + old_mig + " " + new_mig, &out, true), 1);
  EXPECT_NE(out.find("Subsection \"fw_cfg/acpi_mr\" not found"), std::string::npos) << out;
  // The stream's trailer equals the stored vmdesc JSON: same findings either way.
  std::string a, b;
  test::run_command(migscope() + "--format json " + old_mig + " " + new_mig + " | grep '\"id\"'", &a);
  test::run_command(migscope() + "--format json " + vmstate_dir() + "/vmdesc/x86_64-pc-q35-4.2.json " + vmstate_dir() +
                        "/vmdesc/x86_64-pc-q35-7.2.json | grep '\"id\"'",
                    &b);
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  // Mixing a stream with a -dump-vmstate file is a usage error.
  EXPECT_EQ(test::run_command(migscope() + old_mig + " " + vmstate_dir() + "/upstream/dump1.json", &out, true), 2);
}

}  // namespace
}  // namespace migscope::compat
