// The checker against upstream: QEMU's own test pair, every real pair of the
// corpus (golden stdout + exit status recorded from upstream's script by
// corpus/vmstate/make-goldens.sh), and the structured findings.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

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

VmstateDump load_dump(const std::string& path) {
  auto text = read_text_file(path);
  EXPECT_TRUE(text.ok()) << path;
  if (!text.ok()) return {};
  auto d = parse_vmstate_any(*text, lenient());
  EXPECT_TRUE(d.ok()) << path << ": " << d.error().message();
  return d.ok() ? std::move(d).value() : VmstateDump{};
}

RenameTable builtin() {
  auto t = builtin_renames();
  EXPECT_TRUE(t.ok());
  return t.ok() ? std::move(t).value() : RenameTable{};
}

const char* kExpected13 =
    "Warning: checking incompatible machine types: \"pc-i440fx-2.1\", \"pc-i440fx-2.2\"\n"
    "Section \"fw_cfg\" does not exist in dest\n"
    "Section \"fusbh200-ehci-usb\" version error: 2 > 1\n"
    "Section \"fusbh200-ehci-usb\", Description \"ehci-core\": expected field \"usbsts\", got \"usbsts_pending\"; "
    "skipping rest\n"
    "Section \"pci-serial-4x\" Description \"pci-serial-multi\": Entry \"Fields\" missing\n"
    "Section \"intel-hda-generic\", Description \"intel-hda\", Field \"pci\": missing description\n"
    "Section \"cfi.pflash01\": Entry \"Description\" missing\n"
    "Section \"megasas\", Description \"PCIDevice\": expected field \"irq_state\", while dest has no further fields\n"
    "Section \"PIIX3-xen\" Description \"PIIX3\": minimum version error: 1 < 2\n"
    "Section \"PIIX3-xen\" Description \"PIIX3\": Entry \"Subsections\" missing\n"
    "Section \"tpci200\": Description \"tpci200\" missing, got \"tpci2002\" instead; skipping\n"
    "Section \"sun-fdtwo\" Description \"fdc\": version error: 2 > 1\n"
    "Section \"sun-fdtwo\", Description \"fdrive\": Subsection \"fdrive/media_rate\" not found\n"
    "Section \"usb-kbd\" Description \"usb-kbd\" Field \"kbd.keycodes\" size mismatch: 4 , 2\n";

const char* kExpectedReverse =
    "Warning: checking incompatible machine types: \"pc-i440fx-2.2\", \"pc-i440fx-2.1\"\n"
    "Section \"fw_cfg2\" does not exist in dest\n"
    "Section \"fusbh200-ehci-usb\", Description \"ehci-core\": expected field \"usbsts_pending\", got \"usbsts\"; "
    "skipping rest\n"
    "Section \"PIIX3-xen\" Description \"PIIX3\": version error: 3 > 1\n"
    "Section \"tpci200\": Description \"tpci2002\" missing, got \"tpci200\" instead; skipping\n"
    "Section \"sun-fdtwo\" Description \"fdc\": minimum version error: 1 < 2\n"
    "Section \"usb-kbd\" Description \"usb-kbd\" Field \"kbd.keycodes\" size mismatch: 2 , 4\n";

TEST(Checker, UpstreamTestPair) {
  auto src = load_dump(vmstate_dir() + "/upstream/dump1.json");
  auto dest = load_dump(vmstate_dir() + "/upstream/dump2.json");
  auto names = builtin();
  auto report = check_vmstate(src, dest, names);
  EXPECT_EQ(report.upstream_output(), kExpected13);
  EXPECT_EQ(report.upstream_exit_status(), 13);
  auto reverse = check_vmstate(dest, src, names);
  EXPECT_EQ(reverse.upstream_output(), kExpectedReverse);
  EXPECT_EQ(reverse.upstream_exit_status(), 6);
}

TEST(Checker, SharedCopyOfTheTestPairIsTheCorpusCopy) {
  std::string shared = test::shared_dir() + "/data/vmstate";
  if (!fs::exists(shared + "/dump1.json")) GTEST_SKIP() << "no " << shared;
  for (const char* f : {"dump1.json", "dump2.json"})
    EXPECT_EQ(test::read_file(shared + "/" + f), test::read_file(vmstate_dir() + "/upstream/" + f)) << f;
}

TEST(Checker, StructuredFindingsOfTheTestPair) {
  auto report = check_vmstate(load_dump(vmstate_dir() + "/upstream/dump1.json"),
                              load_dump(vmstate_dir() + "/upstream/dump2.json"), builtin());
  ASSERT_EQ(report.findings.size(), 14u);
  const Finding& machine = report.findings[0];
  EXPECT_EQ(machine.kind, FindingKind::machine_mismatch);
  EXPECT_EQ(machine.severity, Severity::info);
  EXPECT_FALSE(machine.upstream_counted);
  EXPECT_EQ(machine.src, "pc-i440fx-2.1");
  EXPECT_EQ(machine.dest, "pc-i440fx-2.2");
  const Finding& missing = report.findings[1];
  EXPECT_EQ(missing.kind, FindingKind::section_missing);
  EXPECT_EQ(missing.severity, Severity::warning);
  EXPECT_EQ(missing.section, "fw_cfg");
  const Finding& size = report.findings[13];
  EXPECT_EQ(size.kind, FindingKind::size_mismatch);
  EXPECT_EQ(size.section, "usb-kbd");
  EXPECT_EQ(size.description, "usb-kbd");
  EXPECT_EQ(size.field, "kbd.keycodes");
  EXPECT_EQ(size.src, "4");
  EXPECT_EQ(size.dest, "2");
  EXPECT_EQ(size.path, "usb-kbd");
  const Finding& sub = report.findings[12];
  EXPECT_EQ(sub.kind, FindingKind::subsection_missing);
  EXPECT_EQ(sub.path, "fdc/fdc/fdrive");  // sun-fdtwo: fdc > state (fdc) > drives (fdrive)
  EXPECT_EQ(sub.field, "fdrive/media_rate");
  // Ids: 16 hex digits, unique here, stable across runs (pinned).
  std::vector<std::string> ids;
  for (const auto& f : report.findings) {
    EXPECT_EQ(f.id.size(), 16u);
    EXPECT_EQ(f.id, finding_id(f));
    for (const auto& seen : ids) EXPECT_NE(seen, f.id);
    ids.push_back(f.id);
    EXPECT_TRUE(is_upstream_kind(f.kind));
    // Upstream's words, but not its "Warning:" prefix (the finding has a severity).
    const std::string prefix = f.kind == FindingKind::machine_mismatch ? "Warning: " : "";
    EXPECT_EQ(prefix + f.message + "\n", f.upstream_text);
  }
  Finding probe;
  probe.kind = FindingKind::size_mismatch;
  probe.section = "s";
  EXPECT_EQ(finding_id(probe), "357d3e606fc22cfc");
}

TEST(Checker, DanglingTopLevelMinimumVersionQuirk) {
  auto src = parse_vmstate_dump(R"({"dev1": {"version_id": 1}, "dev2": {"version_id": 5}})", lenient());
  auto dest = parse_vmstate_dump(R"({"dev1": {"version_id": 3, "minimum_version_id": 2}, "dev2": {"version_id": 4}})", lenient());
  ASSERT_TRUE(src.ok() && dest.ok());
  auto report = check_vmstate(*src, *dest, builtin());
  EXPECT_EQ(report.upstream_output(), "Section \"dev1\" Section \"dev2\" version error: 5 > 4\n");
  EXPECT_EQ(report.upstream_exit_status(), 1);
  ASSERT_EQ(report.findings.size(), 2u);
  EXPECT_EQ(report.findings[0].kind, FindingKind::minimum_version);
  EXPECT_EQ(report.findings[0].severity, Severity::error);
  EXPECT_EQ(report.findings[0].message, "Section \"dev1\" minimum version error: 1 < 2");
  EXPECT_FALSE(report.findings[0].upstream_counted);
}

TEST(Checker, CountSaturatesAt255) {
  // dest knows none of src's 300 sections (an empty document is no -dump-vmstate file: it names its machine).
  std::string src = "{\"vmschkmachine\": {\"Name\": \"pc\"}, ", dest = R"({"vmschkmachine": {"Name": "pc"}})";
  for (int i = 0; i < 300; ++i) src += (i ? ", " : "") + ("\"d" + std::to_string(i) + "\": {\"version_id\": 1}");
  src += "}";
  auto s = parse_vmstate_dump(src, lenient());
  auto d = parse_vmstate_dump(dest, lenient());
  ASSERT_TRUE(s.ok() && d.ok());
  auto report = check_vmstate(*s, *d, builtin());
  EXPECT_EQ(report.findings.size(), 300u);
  EXPECT_EQ(report.upstream_exit_status(), 255);
}

TEST(Checker, BeyondUpstreamFindingsStayOutOfTheDropIn) {
  auto src = parse_vmstate_dump(R"({"d": {"version_id": 2, "Description": {"name": "d", "version_id": 2,
    "Fields": [{"field": "a", "version_id": 0, "size": 4}]}}})", lenient());
  auto dest = parse_vmstate_dump(R"({"d": {"version_id": 2, "Description": {"name": "d", "version_id": 2,
    "Fields": [{"field": "a", "version_id": 0, "size": 4}, {"field": "b", "version_id": 1, "size": 4},
               {"field": "c", "version_id": 3, "size": 4}],
    "Subsections": [{"name": "d/new", "version_id": 1, "Fields": []}]}}})", lenient());
  ASSERT_TRUE(src.ok() && dest.ok());
  auto report = check_vmstate(*src, *dest, builtin());
  EXPECT_EQ(report.upstream_output(), "");
  EXPECT_EQ(report.upstream_exit_status(), 0);
  ASSERT_EQ(report.findings.size(), 2u);
  EXPECT_EQ(report.findings[0].kind, FindingKind::fields_added);
  EXPECT_EQ(report.findings[0].severity, Severity::error);
  EXPECT_EQ(report.findings[0].field, "b");  // c needs version 3 > 2: the loader skips it
  EXPECT_EQ(report.findings[0].dest, "1");
  EXPECT_EQ(report.findings[1].kind, FindingKind::subsection_added);
  EXPECT_EQ(report.findings[1].severity, Severity::info);
  EXPECT_FALSE(is_upstream_kind(report.findings[1].kind));
}

TEST(Checker, UserRenamesSilenceARename) {
  auto src = parse_vmstate_dump(R"({"d": {"version_id": 1, "Description": {"name": "dv", "version_id": 1,
    "Fields": [{"field": "old_name", "version_id": 0, "size": 4}]}}})", lenient());
  auto dest = parse_vmstate_dump(R"({"d": {"version_id": 1, "Description": {"name": "dv", "version_id": 1,
    "Fields": [{"field": "new_name", "version_id": 0, "size": 4}]}}})", lenient());
  ASSERT_TRUE(src.ok() && dest.ok());
  auto names = builtin();
  EXPECT_EQ(check_vmstate(*src, *dest, names).upstream_exit_status(), 1);
  auto more = parse_renames(R"({"fields": {"dv": ["old_name", "new_name"]}})");
  ASSERT_TRUE(more.ok());
  merge_renames(names, *more);
  EXPECT_EQ(check_vmstate(*src, *dest, names).findings.size(), 0u);
}

// ---- every pair of corpus/vmstate/pairs.txt through the built drop-in

struct Pair {
  std::string name, src, dest, flag;
};

std::vector<Pair> read_pairs() {
  std::vector<Pair> out;
  std::istringstream in(test::read_file(vmstate_dir() + "/pairs.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Pair p;
    ls >> p.name >> p.src >> p.dest >> p.flag;
    if (!p.name.empty()) out.push_back(p);
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "migscope-compat-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A readable path for a corpus file, decompressing *.xz into `tmp`.
std::string resolve(const std::string& rel, const TempDir& tmp) {
  std::string full = vmstate_dir() + "/" + rel;
  if (rel.size() < 3 || rel.substr(rel.size() - 3) != ".xz") return full;
  std::string out = tmp.path() + "/" + fs::path(rel).stem().string();
  if (!fs::exists(out)) {
    int rc = test::run_command("xz -dc '" + full + "' > '" + out + "'", nullptr);
    EXPECT_EQ(rc, 0) << "xz -dc " << full;
  }
  return out;
}

TEST(Checker, EveryCorpusPairMatchesUpstreamGolden) {
  std::string tool = test::tool_path("vmstate-static-checker");
  ASSERT_TRUE(fs::exists(tool)) << tool;
  if (test::run_command("xz --version", nullptr) != 0) GTEST_SKIP() << "xz not installed";
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  auto pairs = read_pairs();
  ASSERT_GE(pairs.size(), 20u);
  int nonzero = 0;
  for (const auto& p : pairs) {
    std::string s = resolve(p.src, tmp), d = resolve(p.dest, tmp);
    std::string out;
    int rc = test::run_command("'" + tool + "' -s '" + s + "' -d '" + d + "' " + p.flag, &out);
    std::string golden = test::read_file(vmstate_dir() + "/golden/" + p.name + ".txt");
    int golden_rc = std::atoi(test::read_file(vmstate_dir() + "/golden/" + p.name + ".exit").c_str());
    EXPECT_EQ(out, golden) << p.name;
    EXPECT_EQ(rc, golden_rc) << p.name;
    nonzero += golden_rc != 0;
    // The library agrees with the executable.
    VmstateDump sd = load_dump(s), dd = load_dump(d);
    auto report = p.flag == "--reverse" ? check_vmstate(dd, sd, builtin()) : check_vmstate(sd, dd, builtin());
    EXPECT_EQ(report.upstream_output(), golden) << p.name;
    EXPECT_EQ(report.upstream_exit_status(), golden_rc) << p.name;
  }
  EXPECT_GE(nonzero, 10);
}

TEST(Checker, DropInCommandLineMimicsArgparse) {
  std::string tool = test::tool_path("vmstate-static-checker");
  std::string d1 = vmstate_dir() + "/upstream/dump1.json", d2 = vmstate_dir() + "/upstream/dump2.json";
  std::string out;
  EXPECT_EQ(test::run_command("'" + tool + "' --src=" + d1 + " -d" + d2, &out), 13);
  EXPECT_EQ(out, kExpected13);
  out.clear();
  EXPECT_EQ(test::run_command("'" + tool + "' --de " + d2 + " --sr " + d1 + " --rev", &out), 6);
  EXPECT_EQ(out, kExpectedReverse);
  out.clear();
  EXPECT_EQ(test::run_command("'" + tool + "'", &out, true), 2);
  EXPECT_NE(out.find("usage: vmstate-static-checker [-h] -s SRC -d DEST [--reverse]"), std::string::npos);
  EXPECT_NE(out.find("error: the following arguments are required: -s/--src, -d/--dest"), std::string::npos);
  out.clear();
  EXPECT_EQ(test::run_command("'" + tool + "' -s " + d1 + " -d " + d2 + " extra --bogus", &out, true), 2);
  EXPECT_NE(out.find("error: unrecognized arguments: extra --bogus"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(test::run_command("'" + tool + "' -d " + d2 + " -s", &out, true), 2);
  EXPECT_NE(out.find("error: argument -s/--src: expected one argument"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(test::run_command("'" + tool + "' --reverse=1 -s a -d b", &out, true), 2);
  EXPECT_NE(out.find("argument --reverse: ignored explicit argument '1'"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(test::run_command("'" + tool + "' -h", &out), 0);
  EXPECT_NE(out.find("  -d DEST, --dest DEST  json dump from dest qemu"), std::string::npos);
  // Unreadable or malformed inputs: one error line, status 1 (Python's for an exception).
  out.clear();
  EXPECT_EQ(test::run_command("'" + tool + "' -s /nonexistent.json -d " + d2, &out, true), 1);
  EXPECT_NE(out.find("/nonexistent.json"), std::string::npos);
  out.clear();
  EXPECT_EQ(test::run_command("'" + tool + "' -s " + d1 + " -d " + test::source_dir() + "/core/compat/checker.cpp",
                              &out, true),
            1);
  EXPECT_NE(out.find("invalid JSON"), std::string::npos) << out;
}

// ---- vmdesc trailers of real streams

TEST(CompareVmdesc, SameMachineIsClean) {
  std::string a = test::read_file(vmstate_dir() + "/vmdesc/x86_64-pc-q35-7.2.json");
  auto r = compare_vmdesc(a, a, builtin());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->findings.empty());
  EXPECT_GT(r->sections.size(), 20u);
}

TEST(CompareVmdesc, OldToNewMachineTypeShowsCompatDifferences) {
  std::string old_q35 = test::read_file(vmstate_dir() + "/vmdesc/x86_64-pc-q35-4.2.json");
  std::string new_q35 = test::read_file(vmstate_dir() + "/vmdesc/x86_64-pc-q35-7.2.json");
  auto fwd = compare_vmdesc(old_q35, new_q35, builtin());
  ASSERT_TRUE(fwd.ok()) << fwd.error().message();
  // pc-q35-4.2 → 7.2: the newer machine type sends subsections the old one
  // does not (fw_cfg/acpi_mr, ich9_pm/pcihp, pckbd/extended_state): info only.
  ASSERT_FALSE(fwd->findings.empty());
  for (const auto& f : fwd->findings) {
    EXPECT_EQ(f.kind, FindingKind::subsection_added) << f.message;
    EXPECT_EQ(f.severity, Severity::info);
  }
  auto back = compare_vmdesc(new_q35, old_q35, builtin());
  ASSERT_TRUE(back.ok());
  bool saw_missing = false;
  for (const auto& f : back->findings) saw_missing = saw_missing || f.kind == FindingKind::subsection_missing;
  EXPECT_TRUE(saw_missing);
  EXPECT_GT(back->upstream_exit_status(), 0);
}

TEST(CompareVmdesc, AcrossMachinesAndArchitectures) {
  std::string q35 = test::read_file(vmstate_dir() + "/vmdesc/x86_64-pc-q35-7.2.json");
  std::string i440 = test::read_file(vmstate_dir() + "/vmdesc/x86_64-pc-i440fx-7.2.json");
  std::string arm = test::read_file(vmstate_dir() + "/vmdesc/aarch64-virt-7.2.json");
  auto r = compare_vmdesc(q35, i440, builtin());
  ASSERT_TRUE(r.ok());
  bool missing = false;
  for (const auto& f : r->findings) missing = missing || f.kind == FindingKind::section_missing;
  EXPECT_TRUE(missing);
  auto x = compare_vmdesc(q35, arm, builtin());
  ASSERT_TRUE(x.ok());
  EXPECT_FALSE(x->findings.empty());
  auto bad = compare_vmdesc(q35, "{\"devices\": 3}", builtin());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("dest: $.devices: expected an array"), std::string::npos)
      << bad.error().message();
  auto ps = compare_vmdesc(R"({"page_size": 4096, "devices": []})", R"({"page_size": 65536, "devices": []})",
                           builtin());
  ASSERT_TRUE(ps.ok());
  ASSERT_EQ(ps->findings.size(), 1u);
  EXPECT_EQ(ps->findings[0].kind, FindingKind::page_size_mismatch);
}

}  // namespace
}  // namespace migscope::compat
