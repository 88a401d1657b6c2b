// compat::diff_states: state documents compared section by section (matched
// by idstr and instance, not by the key's section id) and field by field.
#include <gtest/gtest.h>

#include "compat/state_diff.h"

namespace migscope::compat {
namespace {

using diff::DiffKind;

StateDiff run(std::string_view a, std::string_view b, StateDiffOptions o = {}) {
  auto r = diff_states({a, "A", {}}, {b, "B", {}}, o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? std::move(r).value() : StateDiff{};
}

TEST(StateDiff, SplitsKeysIntoIdstrAndNumber) {
  std::string idstr;
  std::uint32_t n = 0;
  ASSERT_TRUE(split_state_key("0000:00:1f.0/ICH9LPC (14)", idstr, n));
  EXPECT_EQ(idstr, "0000:00:1f.0/ICH9LPC");
  EXPECT_EQ(n, 14u);
  EXPECT_FALSE(split_state_key("cpu", idstr, n));
  EXPECT_FALSE(split_state_key("cpu (x)", idstr, n));
  EXPECT_FALSE(split_state_key("cpu (99999999999)", idstr, n));
}

TEST(StateDiff, MatchesSectionsByIdstrAndInstanceNotBySectionId) {
  // B registered one more device first: every section id moved by one.
  const auto d = run(R"J({"timer (0)": {"x": "0x01"}, "cpu (5)": {"a": "0x1"}, "cpu (6)": {"a": "0x2"}})J",
                     R"J({"timer (1)": {"x": "0x01"}, "cpu (6)": {"a": "0x1"}, "cpu (7)": {"a": "0x3"}})J");
  ASSERT_EQ(d.differences.size(), 1u);
  EXPECT_EQ(d.differences[0].kind, DiffKind::field);
  EXPECT_EQ(d.differences[0].path, "cpu (6)/a");  // A's key: the second cpu, instance 1
  EXPECT_EQ(d.differences[0].a, "0x2");
  EXPECT_EQ(d.differences[0].b, "0x3");
  EXPECT_EQ(d.matched, 3u);
}

TEST(StateDiff, UsesTheWalkInstancesWhenGiven) {
  StateDocument a{R"J({"apic (7)": {"v": "1"}, "apic (8)": {"v": "2"}})J", "A",
                  {{"apic (7)", "apic", 3, 3}, {"apic (8)", "apic", 1, 3}}};
  StateDocument b{R"J({"apic (9)": {"v": "2"}, "apic (10)": {"v": "1"}})J", "B",
                  {{"apic (9)", "apic", 1, 4}, {"apic (10)", "apic", 3, 3}}};
  auto d = diff_states(a, b, {});
  ASSERT_TRUE(d.ok());
  // Instance 3 equal, instance 1 equal in value but of another version.
  ASSERT_EQ(d->differences.size(), 1u);
  EXPECT_EQ(d->differences[0].kind, DiffKind::section_version);
  EXPECT_EQ(d->differences[0].path, "apic (8)");
  EXPECT_EQ(d->differences[0].a, "3");
  EXPECT_EQ(d->differences[0].b, "4");
}

TEST(StateDiff, ReportsSectionsSubsectionsFieldsAndLengthsOnOneSide) {
  const auto d = run(R"J({"a (1)": {"f": "0x1", "dev/sub": {"x": "0x0"}, "l": ["1", "2", "3"]}, "gone (2)": {}})J",
                     R"J({"a (1)": {"f": "0x1", "g": "0x2", "l": ["1", "9"]}, "new (3)": {}})J");
  std::vector<std::pair<DiffKind, std::string>> got;
  for (const auto& x : d.differences) got.emplace_back(x.kind, x.path);
  const std::vector<std::pair<DiffKind, std::string>> want = {
      {DiffKind::subsection_only_a, "a (1)/dev/sub"}, {DiffKind::list_length, "a (1)/l"},
      {DiffKind::field, "a (1)/l[1]"},               {DiffKind::field_only_b, "a (1)/g"},
      {DiffKind::section_only_a, "gone (2)"},        {DiffKind::section_only_b, "new (3)"}};
  EXPECT_EQ(got, want);
}

TEST(StateDiff, IgnoresGlobsOnPathsAndTheirAncestors) {
  EXPECT_TRUE(path_ignored("timer (0)/cpu_ticks_offset", {"timer (*)/cpu_ticks_offset"}));
  EXPECT_TRUE(path_ignored("hpet (18)/timer[2]/qemu_timer", {"hpet (*)/timer[[]*]/qemu_timer"}));
  EXPECT_TRUE(path_ignored("kvmclock (3)/clock", {"kvmclock (*)"}));  // an ancestor
  EXPECT_FALSE(path_ignored("kvmclockx (3)/clock", {"kvmclock (*)"}));
  EXPECT_FALSE(path_ignored("cpu (5)/env.tsc_aux", {"cpu (*)/env.tsc"}));  // not a prefix at a boundary
  StateDiffOptions o;
  o.ignores = {"timer (*)"};
  const auto d = run(R"J({"timer (0)": {"a": "1", "b": "2"}, "x (1)": {"c": "3"}})J",
                     R"J({"timer (0)": {"a": "5", "b": "6"}, "x (1)": {"c": "4"}})J", o);
  ASSERT_EQ(d.differences.size(), 1u);
  EXPECT_EQ(d.differences[0].path, "x (1)/c");
  EXPECT_EQ(d.ignored, 2u);
}

TEST(StateDiff, RendersValuesAsStateDoesAndComparesTypesStrictly) {
  const auto d = run(R"J({"s (1)": {"b": true, "o": {"k": "1"}, "n": null}})J",
                     R"J({"s (1)": {"b": false, "o": ["1"], "n": null}})J");
  ASSERT_EQ(d.differences.size(), 2u);
  EXPECT_EQ(d.differences[0].a, "true");
  EXPECT_EQ(d.differences[0].b, "false");
  EXPECT_EQ(d.differences[1].a, R"J({"k":"1"})J");
  EXPECT_EQ(d.differences[1].b, R"J(["1"])J");
}

TEST(StateDiff, SkipsRamSectionsWhenAsked) {
  StateDiffOptions o;
  o.skip_ram = true;
  const auto d = run(R"J({"ram (2)": {"section sizes": {"pc.ram": "0x1"}}})J", R"J({"ram (2)": {"section sizes": {"pc.ram": "0x2"}}})J", o);
  EXPECT_TRUE(d.differences.empty());
  EXPECT_EQ(d.sections_a, 0u);
}

TEST(StateDiff, RejectsWhatIsNotAStateDocumentNamingItAndTheOffset) {
  auto bad = diff_states({"{\"a (1)\": {", "left.json", {}}, {"{}", "B", {}}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_json);
  EXPECT_NE(bad.error().detail.find("left.json"), std::string::npos);
  EXPECT_TRUE(bad.error().has_offset());
  auto array = diff_states({"[1]", "A", {}}, {"{}", "B", {}}, {});
  ASSERT_FALSE(array.ok());
  EXPECT_NE(array.error().detail.find("JSON object"), std::string::npos);
  std::string deep(200, '[');
  deep += std::string(200, ']');
  auto nested = diff_states({"{\"a (1)\": " + deep + "}", "A", {}}, {"{}", "B", {}}, {});
  ASSERT_FALSE(nested.ok());
}

}  // namespace
}  // namespace migscope::compat
