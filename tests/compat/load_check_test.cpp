// compat::check_load against real loads: corpus/loads/outcomes.jsonl records
// what QEMU 7.2 did with 56 (stream, destination) pairs (streams of QEMU 7.2,
// 10.0 and 11.1; same and deliberately different machine types, device sets,
// RAM sizes, migration settings and capabilities). With the destination's
// -dump-vmstate and a stream of its configuration, `check --against` must
// predict every outcome (would load <=> QEMU loaded) and stop where QEMU
// stopped: its first reason quotes QEMU's first error line.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "migscope/ops.h"
#include "../test_paths.h"

namespace migscope::compat {
namespace {

namespace fs = std::filesystem;

fs::path loads() { return fs::path(test::binary_dir()) / "corpus" / "loads"; }
fs::path loads_source() { return fs::path(test::corpus_dir()) / "loads"; }

struct Dest {
  std::string vmstate;  // file stem under dests/
  std::vector<std::string> capabilities;
  bool default_globals = true;  // no -global migration.* on its command line
};

struct Outcome {
  std::string source, dest;
  bool loaded = false;
  std::string first_error;  // QEMU's first error line, program name removed ("" if loaded)
};

std::map<std::string, Dest> read_dests() {
  std::map<std::string, Dest> out;
  std::ifstream in(loads_source() / "dests.tsv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    if (cols.size() < 4) continue;
    Dest d;
    d.vmstate = cols[2];
    if (cols[3] != "-") {
      std::stringstream caps(cols[3]);
      while (std::getline(caps, c, ',')) d.capabilities.push_back(c);
    }
    d.default_globals = cols[1].find("-global migration.") == std::string::npos;
    out[cols[0]] = d;
  }
  return out;
}

std::vector<Outcome> read_outcomes() {
  std::vector<Outcome> out;
  std::ifstream in(loads_source() / "outcomes.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (doc.HasParseError()) continue;
    Outcome o;
    o.source = doc["source"].GetString();
    o.dest = doc["dest"].GetString();
    o.loaded = doc["loaded"].GetBool();
    for (const auto& e : doc["errors"].GetArray()) {
      std::string s = e.GetString();
      // Warnings and block migration's progress lines are not the error.
      if (s.find("warning:") != std::string::npos || s.rfind("Receiving", 0) == 0 || s.rfind("Completed", 0) == 0) continue;
      const std::string prog = "qemu-system-x86_64: ";
      if (s.rfind(prog, 0) == 0) s = s.substr(prog.size());
      if (!o.loaded && o.first_error.empty()) o.first_error = s;
    }
    out.push_back(o);
  }
  return out;
}

// Sources are named under corpus/ ("streams/x86_64-q35-7.2"), or under corpus/loads ("sources/...").
fs::path source_path(const std::string& source) {
  if (source.rfind("sources/", 0) == 0) return loads() / (source + ".mig");
  return loads().parent_path() / (source + ".mig");
}

LoadFacts facts_of(const fs::path& path) {
  auto dump = Dump::open(path.string());
  if (!dump.ok()) ADD_FAILURE() << path << ": " << dump.error().message();
  auto f = ops::load_facts(*dump);
  if (!f.ok()) ADD_FAILURE() << path << ": " << f.error().message();
  return f.ok() ? std::move(f).value() : LoadFacts{};
}

VmstateDump vmstate_of(const fs::path& path) {
  auto d = ops::load_vmstate_dump(path.string(), false);
  if (!d.ok()) ADD_FAILURE() << path << ": " << d.error().message();
  return d.ok() ? std::move(d).value() : VmstateDump{};
}

const Finding* first_error(const CheckReport& r) {
  for (const auto& f : r.findings)
    if (f.severity == Severity::error) return &f;
  return nullptr;
}

bool has_undecided(const CheckReport& r, std::string_view what) {
  for (const auto& u : r.undecided)
    if (u.find(what) != std::string::npos) return true;
  return false;
}

class RealLoads : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(loads() / "outcomes.jsonl") && !fs::exists(loads_source() / "outcomes.jsonl"))
      GTEST_SKIP() << "no corpus/loads";
    dests_ = read_dests();
    outcomes_ = read_outcomes();
    ASSERT_GE(outcomes_.size(), 50u);
  }
  std::map<std::string, Dest> dests_;
  std::vector<Outcome> outcomes_;
};

TEST_F(RealLoads, WithTheDestinationsDescriptionAndStreamEveryOutcomeIsPredicted) {
  std::size_t loaded = 0, failed = 0;
  for (const auto& o : outcomes_) {
    SCOPED_TRACE(o.source + " -> " + o.dest);
    const Dest& d = dests_.at(o.dest);
    const LoadFacts dump = facts_of(source_path(o.source));
    const LoadFacts dest_stream = facts_of(loads() / "dests" / (o.dest + ".mig"));
    const VmstateDump vmstate = vmstate_of(loads() / "dests" / (d.vmstate + ".vmstate.json"));
    LoadTarget target;
    target.vmstate = &vmstate;
    target.stream = &dest_stream;
    target.capabilities = d.capabilities;
    auto r = check_load(dump, target);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(r->load_check);
    const Finding* first = first_error(*r);
    EXPECT_EQ(first == nullptr, o.loaded) << render_text(*r, {});
    EXPECT_EQ(load_verdict(*r) == "would load", o.loaded);
    if (o.loaded) {
      ++loaded;
      continue;
    }
    ++failed;
    if (!first) continue;
    if (o.first_error.rfind("Error unknown block device", 0) == 0) {
      // The drive names of block migration are in no description: undecided,
      // and the load still fails for the device the dump has and the destination lacks.
      EXPECT_TRUE(has_undecided(*r, "block migration"));
      continue;
    }
    // Where QEMU stopped, and with its words (the section, block or machine it named).
    EXPECT_FALSE(first->qemu_error.empty());
    EXPECT_EQ(o.first_error.substr(0, first->qemu_error.size()), first->qemu_error);
    EXPECT_NE(first->message.find(first->qemu_error), std::string::npos);
  }
  EXPECT_GE(loaded, 25u);
  EXPECT_GE(failed, 25u);
}

TEST_F(RealLoads, WithADumpVmstateAloneNoLoadableDumpIsRefusedAndTheBinarysReasonsAreFound) {
  for (const auto& o : outcomes_) {
    const Dest& d = dests_.at(o.dest);
    if (!d.default_globals) continue;  // -global migration.*: not in a -dump-vmstate (listed as undecided)
    SCOPED_TRACE(o.source + " -> " + o.dest);
    const LoadFacts dump = facts_of(source_path(o.source));
    const VmstateDump vmstate = vmstate_of(loads() / "dests" / (d.vmstate + ".vmstate.json"));
    LoadTarget target;
    target.vmstate = &vmstate;
    target.capabilities = d.capabilities;
    auto r = check_load(dump, target);
    ASSERT_TRUE(r.ok());
    const Finding* first = first_error(*r);
    if (!first) {
      EXPECT_TRUE(has_undecided(*r, "which devices"));
    }
    if (first) {
      EXPECT_FALSE(o.loaded) << first->message;
      EXPECT_EQ(o.first_error.substr(0, first->qemu_error.size()), first->qemu_error);
    }
    // What a -dump-vmstate decides (the binary and its machine type) is found.
    for (const char* decided : {"Machine type received", "Received unknown capability", "MIG_CMD", "Capability ",
                                "Received an unexpected compressed page", "RAM postcopy is disabled"})
      if (o.first_error.rfind(decided, 0) == 0) {
        EXPECT_NE(first, nullptr) << o.first_error;
      }
  }
}

TEST(LoadCheck, NeedsADestinationAndNamesWhatItCouldNotDecide) {
  LoadFacts dump;
  dump.has_configuration = true;
  dump.machine = "pc-q35-7.2";
  EXPECT_FALSE(check_load(dump, {}).ok());
  VmstateDump dest;
  dest.machine = "pc-q35-7.2";
  dest.has_machine_entry = true;
  LoadTarget t;
  t.vmstate = &dest;
  auto r = check_load(dump, t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(load_verdict(*r), "would load");
  EXPECT_TRUE(has_undecided(*r, "send-configuration"));
  EXPECT_TRUE(has_undecided(*r, "capabilities"));
  // Another machine version of the same type: refused, as QEMU does.
  dest.machine = "pc-q35-7.1";
  r = check_load(dump, t);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->findings.size(), 1u);
  EXPECT_EQ(r->findings[0].kind, FindingKind::load_machine);
  EXPECT_EQ(r->findings[0].qemu_error, "Machine type received is 'pc-q35-7.2' and local is 'pc-q35-7.1'");
  EXPECT_EQ(load_verdict(*r), "would fail to load: 1 reason");
  // Machine types up to 2.3 send neither configuration nor footers.
  dest.machine = "pc-i440fx-2.3";
  dump.machine = "pc-i440fx-2.3";
  r = check_load(dump, t);
  ASSERT_TRUE(r.ok());
  ASSERT_NE(first_error(*r), nullptr);
  EXPECT_EQ(first_error(*r)->qemu_error, "Unknown savevm section type 7");
}

TEST(LoadCheck, VersionsAndSubsectionsFollowTheDestinationsDescription) {
  // The dump sends "dev" v3 with subsection "dev/extra" v2; the destination knows v2..v2 and no subsection.
  LoadFacts dump;
  dump.has_configuration = true;
  dump.machine = "m";
  dump.footers = true;
  dump.sections.push_back({100, 200, "0000:00:03.0/dev", 0, 3, true, true});
  dump.vmdesc_json = R"J({"page_size": 4096, "devices": [{"name": "0000:00:03.0/dev", "instance_id": 0, "vmsd_name": "dev",
      "version": 3, "fields": [{"name": "a", "type": "uint32", "size": 4}],
      "subsections": [{"vmsd_name": "dev/extra", "version": 2, "fields": [{"name": "b", "type": "uint8", "size": 1}]}]}]})J";
  auto dest = parse_vmstate_dump(R"J({"vmschkmachine": {"Name": "m"}, "dev-type": {"Name": "dev-type", "version_id": 2,
      "minimum_version_id": 2, "Description": {"name": "dev", "version_id": 2, "minimum_version_id": 2,
      "Fields": [{"field": "a", "version_id": 0, "field_exists": false, "size": 4}], "Subsections": []}}})J");
  ASSERT_TRUE(dest.ok()) << dest.error().message();
  LoadTarget t;
  t.vmstate = &*dest;
  t.capabilities = std::vector<std::string>{};
  auto r = check_load(dump, t);
  ASSERT_TRUE(r.ok());
  ASSERT_NE(first_error(*r), nullptr);
  EXPECT_EQ(first_error(*r)->qemu_error, "savevm: unsupported version 3 for '0000:00:03.0/dev' v2");
  // At v2, the subsection is what fails.
  dump.sections[0].version = 2;
  std::string desc = *dump.vmdesc_json;
  desc.replace(desc.find("\"version\": 3"), 12, "\"version\": 2");
  dump.vmdesc_json = desc;
  r = check_load(dump, t);
  ASSERT_TRUE(r.ok());
  ASSERT_NE(first_error(*r), nullptr);
  EXPECT_EQ(first_error(*r)->kind, FindingKind::load_subsection);
  EXPECT_EQ(first_error(*r)->qemu_error, "error while loading state for instance 0x0 of device '0000:00:03.0/dev'");
  // Below the minimum.
  dump.sections[0].version = 1;
  r = check_load(dump, t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(first_error(*r)->kind, FindingKind::load_version);
}

}  // namespace
}  // namespace migscope::compat
