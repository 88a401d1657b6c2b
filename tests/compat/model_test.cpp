// Unit tests of the -dump-vmstate / vmdesc model and the rename tables.
#include <string>

#include <gtest/gtest.h>

#include "migscope/compat.h"
#include "../test_paths.h"

namespace migscope::compat {
namespace {

std::string corpus(const std::string& rel) { return test::corpus_dir() + "/vmstate/" + rel; }

// The shape tests below use small documents without the entries QEMU always
// writes; the validation of those entries has its own test.
ParseLimits lenient() {
  ParseLimits l;
  l.lenient = true;
  return l;
}

const char* kSmall = R"({
  "b": {"Name": "b", "version_id": 2, "minimum_version_id": 1,
        "Description": {"name": "bd", "version_id": 2, "minimum_version_id": 1,
          "Fields": [{"field": "x", "version_id": 0, "field_exists": false, "size": 4, "num": 3},
                     {"field": "s", "version_id": 1, "field_exists": true, "size": 16,
                      "Description": {"name": "inner", "version_id": 1, "Fields": []}}],
          "Subsections": [{"name": "bd/sub", "version_id": 1, "minimum_version_id": 1, "Fields": []}]}},
  "vmschkmachine": {"Name": "pc-q35-7.2"},
  "a": {"Name": "a", "version_id": 1, "Name": "a2", "extra": [1, [2, {"deep": null}]]}
})";

TEST(VmstateModel, ParsesKeysInOrderAndValues) {
  auto r = parse_vmstate_dump(kSmall, lenient());
  ASSERT_TRUE(r.ok()) << r.error().message();
  const VmstateDump& d = *r;
  ASSERT_EQ(d.sections.size(), 2u);
  EXPECT_EQ(d.sections[0].key, "b");
  EXPECT_EQ(d.sections[1].key, "a");
  EXPECT_TRUE(d.has_machine_entry);
  EXPECT_EQ(d.machine_position, 1u);
  EXPECT_EQ(d.machine.value_or(""), "pc-q35-7.2");
  const VmsdSection* b = d.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->version_id, 2);
  EXPECT_EQ(b->minimum_version_id.value_or(-1), 1);
  ASSERT_TRUE(b->description);
  const auto& desc = *b->description;
  EXPECT_EQ(desc.name, "bd");
  EXPECT_EQ(desc.keys, (std::vector<std::string>{"name", "version_id", "minimum_version_id", "Fields", "Subsections"}));
  ASSERT_TRUE(desc.fields);
  ASSERT_EQ(desc.fields->size(), 2u);
  EXPECT_EQ((*desc.fields)[0].num.value_or(0), 3);
  EXPECT_EQ((*desc.fields)[0].field_exists.value_or(true), false);
  ASSERT_TRUE((*desc.fields)[1].description);
  EXPECT_EQ((*desc.fields)[1].description->name, "inner");
  EXPECT_FALSE((*desc.fields)[1].description->minimum_version_id);
  ASSERT_TRUE(desc.subsections);
  EXPECT_EQ((*desc.subsections)[0].name, "bd/sub");
  EXPECT_EQ(d.find("zzz"), nullptr);
}

TEST(VmstateModel, RepeatedKeyKeepsFirstPositionAndLastValue) {
  auto r = parse_vmstate_dump(R"({"x": {"version_id": 1}, "y": {"version_id": 2}, "x": {"version_id": 3}})", lenient());
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->sections.size(), 2u);
  EXPECT_EQ(r->sections[0].key, "x");
  EXPECT_EQ(r->sections[0].version_id, 3);
  auto a = parse_vmstate_dump(kSmall, lenient());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->find("a")->name.value_or(""), "a2");
  EXPECT_EQ(a->find("a")->keys, (std::vector<std::string>{"Name", "version_id", "extra"}));
}

struct BadCase {
  const char* json;
  const char* expect;  // substring of the error message
};

TEST(VmstateModel, MalformedInputsGiveErrorsWithJsonPaths) {
  const BadCase cases[] = {
      {"", "invalid JSON"},
      {"{\"a\": {\"version_id\": 1", "invalid JSON"},  // truncated
      {"{\"a\": 1} x", "invalid JSON"},                // trailing garbage
      {"[]", "$: expected an object, got an array"},
      {"{\"a\": 1}", "$.a: expected an object, got an integer"},
      {"{\"a\": {}}", "$.a: missing key \"version_id\""},
      {"{\"a\": {\"version_id\": \"1\"}}", "$.a.version_id: expected an integer, got a string"},
      {"{\"a\": {\"version_id\": 1.5}}", "$.a.version_id: expected an integer, got a non-integer number"},
      {"{\"a\": {\"version_id\": 18446744073709551615}}", "$.a.version_id: integer out of range"},
      {"{\"fw_cfg\": {\"version_id\": 1, \"Description\": {\"name\": \"fw_cfg\", \"version_id\": 2, \"Fields\": "
       "[{\"field\": \"a\", \"version_id\": 0, \"size\": 1}, {\"field\": \"b\", \"version_id\": 0, \"size\": 1}, "
       "{\"field\": \"c\", \"version_id\": 0, \"size\": 1}, {\"field\": \"d\", \"version_id\": 0, \"size\": null}]}}}",
       "$.fw_cfg.Description.Fields[3].size: expected an integer, got null"},
      {"{\"a\": {\"version_id\": 1, \"Description\": {\"name\": 5}}}", "$.a.Description.name: expected a string"},
      {"{\"a\": {\"version_id\": 1, \"Description\": {\"name\": \"n\", \"version_id\": 1, \"Fields\": {}}}}",
       "$.a.Description.Fields: expected an array, got an object"},
      {"{\"a\": {\"version_id\": 1, \"Description\": {\"name\": \"n\", \"version_id\": 1, \"Fields\": [{\"field\": "
       "\"f\", \"version_id\": 0, \"size\": 1, \"field_exists\": 0}]}}}",
       "$.a.Description.Fields[0].field_exists: expected a boolean"},
      {"{\"vmschkmachine\": {}}", "$.vmschkmachine: missing key \"Name\""},
      {"{\"ICH9 LPC\": {\"version_id\": []}}", "$[\"ICH9 LPC\"].version_id: expected an integer, got an array"},
      {"{\"a\": \"\\ud800\"}", "invalid JSON"},  // lone surrogate
      {"{\"a\": \"\xff\"}", "invalid JSON"},     // invalid UTF-8
  };
  for (const auto& c : cases) {
    auto r = parse_vmstate_dump(c.json, lenient());
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_json) << c.json;
    EXPECT_NE(r.error().message().find(c.expect), std::string::npos)
        << "input: " << c.json << "\nmessage: " << r.error().message();
  }
}

TEST(VmstateModel, ParseErrorsCarryTheByteOffset) {
  auto r = parse_vmstate_dump("{\"a\": {\"version_id\": 1,, }}", lenient());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().has_offset());
  EXPECT_EQ(r.error().offset, 23u);
}

TEST(VmstateModel, AbsurdNestingIsAnErrorNotACrash) {
  std::string deep(100000, '[');
  auto r = parse_vmstate_dump(deep, lenient());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_json);
  std::string closed = "{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  r = parse_vmstate_dump(closed, lenient());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("$.a: expected an object, got an array"), std::string::npos);
  // Well-formed JSON, but descriptions nested 100000 levels deep.
  std::string nest;
  for (int i = 0; i < 100000; ++i)
    nest += "{\"name\": \"n\", \"version_id\": 1, \"Fields\": [{\"field\": \"f\", \"version_id\": 0, \"size\": 1, "
            "\"Description\": ";
  nest += "{\"name\": \"n\", \"version_id\": 1}";
  for (int i = 0; i < 100000; ++i) nest += "}]}";
  r = parse_vmstate_dump("{\"a\": {\"version_id\": 1, \"Description\": " + nest + "}}", lenient());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("nested deeper than 64 levels"), std::string::npos) << r.error().message();
  // The unused deep value inside an entry is skipped, not walked.
  auto ok = parse_vmstate_dump("{\"a\": {\"version_id\": 1, \"junk\": " + std::string(50000, '[') +
                               std::string(50000, ']') + "}}", lenient());
  EXPECT_TRUE(ok.ok());
}

TEST(VmstateModel, EntriesQemuAlwaysWritesAreRequiredUnlessLenient) {
  // Each document is well-formed and lenient reading takes it; a strict
  // reading names the JSON path of what QEMU's -dump-vmstate would have written.
  const BadCase cases[] = {
      {"{}", "$: no \"vmschkmachine\" entry and no device sections"},
      {"{\"a\": {\"Name\": \"a\", \"version_id\": 1, \"minimum_version_id\": 1, \"Description\": "
       "{\"name\": \"a\", \"version_id\": 1, \"minimum_version_id\": 1}}}",
       "$: no \"vmschkmachine\" entry, which QEMU's -dump-vmstate always writes"},
      {"{\"vmschkmachine\": {\"Name\": \"m\"}, \"cfi.pflash01\": {\"Name\": \"cfi.pflash01\", \"version_id\": 1, "
       "\"minimum_version_id\": 1}}",
       "$[\"cfi.pflash01\"]: missing key \"Description\", which QEMU's -dump-vmstate always writes"},
      {"{\"vmschkmachine\": {\"Name\": \"m\"}, \"a\": {\"version_id\": 1, \"minimum_version_id\": 1, "
       "\"Description\": {\"name\": \"a\", \"version_id\": 1, \"minimum_version_id\": 1}}}",
       "$.a: missing key \"Name\""},
      {"{\"vmschkmachine\": {\"Name\": \"m\"}, \"a\": {\"Name\": \"a\", \"version_id\": 1, "
       "\"minimum_version_id\": 1, \"Description\": {\"name\": \"a\", \"version_id\": 1}}}",
       "$.a.Description: missing key \"minimum_version_id\""},
      {"{\"vmschkmachine\": {\"Name\": \"m\"}, \"a\": {\"Name\": \"a\", \"version_id\": 1, "
       "\"minimum_version_id\": 1, \"Description\": {\"name\": \"a\", \"version_id\": 1, \"minimum_version_id\": 1, "
       "\"Fields\": [{\"field\": \"f\", \"version_id\": 0, \"size\": 4}]}}}",
       "$.a.Description.Fields[0]: missing key \"field_exists\""},
  };
  for (const auto& c : cases) {
    auto r = parse_vmstate_dump(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_json) << c.json;
    EXPECT_NE(r.error().message().find(c.expect), std::string::npos)
        << "input: " << c.json << "\nmessage: " << r.error().message();
    // An empty document is nothing even to a lenient reading.
    EXPECT_EQ(parse_vmstate_dump(c.json, lenient()).ok(), std::string(c.json) != "{}") << c.json;
  }
}

TEST(VmstateModel, ParsesEveryRealDumpInTheCorpus) {
  for (const char* f : {"upstream/dump1.json", "upstream/dump2.json", "reference/x86_64-pc-q35-7.2.json",
                        "reference/aarch64-virt-7.2.json", "reference/m68k-virt-7.2.json",
                        "reference/ppc64-pseries-7.2.json", "reference/s390x-s390-ccw-virtio-7.2.json"}) {
    auto text = read_text_file(corpus(f));
    ASSERT_TRUE(text.ok()) << f;
    // upstream's own test pair leaves out entries QEMU writes (dump2 has a
    // section without a Description): only lenient reading takes it.
    const bool upstream_test = std::string(f).rfind("upstream/", 0) == 0;
    auto r = parse_vmstate_dump(*text, upstream_test ? lenient() : ParseLimits{});
    ASSERT_TRUE(r.ok()) << f << ": " << r.error().message();
    EXPECT_GE(r->sections.size(), 10u) << f;
    EXPECT_TRUE(r->has_machine_entry) << f;
  }
  auto ref = read_text_file(corpus("reference/x86_64-pc-q35-7.2.json"));
  ASSERT_TRUE(ref.ok());
  auto d = parse_vmstate_dump(*ref);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->machine.value_or(""), "pc-q35-7.2");
}

TEST(VmstateModel, ReadTextFileReportsIoErrors) {
  auto r = read_text_file("/nonexistent/migscope/file.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::io);
}

TEST(VmdescModel, MapsARealTrailerOntoTheModel) {
  auto text = read_text_file(corpus("vmdesc/x86_64-pc-q35-7.2.json"));
  ASSERT_TRUE(text.ok());
  auto r = parse_vmdesc(*text);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->origin, VmstateDump::Origin::vmdesc);
  EXPECT_EQ(r->page_size.value_or(0), 4096);
  const VmsdSection* timer = r->find("timer");
  ASSERT_NE(timer, nullptr);
  ASSERT_TRUE(timer->description);
  EXPECT_EQ(timer->description->name, "timer");
  EXPECT_EQ(timer->version_id, 2);
  ASSERT_TRUE(timer->description->fields);
  EXPECT_EQ((*timer->description->fields)[1].field, "unused");
  EXPECT_EQ((*timer->description->fields)[1].type, "unused_buffer");
  // parse_vmstate_any picks the right reader by shape.
  auto any = parse_vmstate_any(*text);
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->origin, VmstateDump::Origin::vmdesc);
  auto dump = read_text_file(corpus("upstream/dump1.json"));
  ASSERT_TRUE(dump.ok());
  auto any2 = parse_vmstate_any(*dump);
  ASSERT_TRUE(any2.ok());
  EXPECT_EQ(any2->origin, VmstateDump::Origin::dump_vmstate);
}

TEST(VmdescModel, InstancesArraysAndStructs) {
  auto r = parse_vmdesc(R"({"page_size": 4096, "devices": [
    {"name": "dev", "instance_id": 0, "vmsd_name": "d", "version": 3, "fields": [
      {"name": "arr", "array_len": 4, "type": "uint32", "size": 4},
      {"name": "el", "index": 0, "type": "struct", "struct": {"vmsd_name": "e", "version": 1, "fields": []}, "size": 2},
      {"name": "el", "index": 1, "type": "struct", "struct": {"vmsd_name": "e", "version": 1, "fields": []}, "size": 2}],
     "subsections": [{"vmsd_name": "d/s", "version": 1, "fields": []}]},
    {"name": "dev", "instance_id": 1, "vmsd_name": "d", "version": 3, "fields": []},
    {"name": "old", "instance_id": 0, "size": 16, "fields": [{"name": "data", "size": 16, "type": "buffer"}]}]})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->sections.size(), 3u);
  EXPECT_EQ(r->sections[1].key, "dev#1");
  const auto& f = *r->sections[0].description->fields;
  EXPECT_EQ(f[0].num.value_or(0), 4);
  EXPECT_EQ(f[1].field, "el[0]");
  EXPECT_EQ(f[2].field, "el[1]");
  ASSERT_TRUE(f[1].description);
  EXPECT_EQ(f[1].description->name, "e");
  EXPECT_EQ((*r->sections[0].description->subsections)[0].name, "d/s");
  EXPECT_EQ(r->sections[2].description->name, "old");  // old-style: no vmsd_name

  auto bad = parse_vmdesc(R"({"page_size": 4096, "devices": [{"name": "x", "fields": [{"name": "f"}]}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("$.devices[0].fields[0]: missing key \"size\""), std::string::npos)
      << bad.error().message();
  auto nodev = parse_vmdesc(R"({"page_size": 4096})");
  ASSERT_FALSE(nodev.ok());
  EXPECT_NE(nodev.error().message().find("missing key \"devices\""), std::string::npos);
  // One idstr and instance twice (QEMU 7.2 writes that for several -netdev user:
  // "slirp" 0 each time; its loader gives them all to the first): the first is kept.
  auto dup = parse_vmdesc(R"({"devices": [{"name": "x", "vmsd_name": "first", "fields": []},
                                          {"name": "x", "vmsd_name": "second", "fields": []}]})");
  ASSERT_TRUE(dup.ok()) << dup.error().message();
  ASSERT_EQ(dup->sections.size(), 1u);
  ASSERT_TRUE(dup->sections[0].description);
  EXPECT_EQ(dup->sections[0].description->name, "first");
}

TEST(Renames, BuiltinTableIsTheShippedJson) {
  auto file = read_text_file(test::source_dir() + "/core/compat/renames.json");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(std::string(builtin_renames_json()), *file);
  auto t = builtin_renames();
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->fields.size(), 31u);
  EXPECT_TRUE(t->names_match("piix4_pm", "pm1a.sts", "ar.gpe"));  // one list = one set, as upstream
  EXPECT_TRUE(t->names_match("hpet", "num_timers", "num_timers_save"));
  EXPECT_TRUE(t->names_match("anything", "same", "same"));
  EXPECT_FALSE(t->names_match("hpet", "num_timers", "dev"));
  EXPECT_FALSE(t->names_match("nosuch", "dev", "parent_obj"));
  EXPECT_EQ(t->changed_section_name("ICH9 LPC"), "ICH9-LPC");
  EXPECT_EQ(t->changed_section_name("ICH9-LPC"), "ICH9 LPC");
  EXPECT_EQ(t->changed_section_name("e1000"), "e1000-82540em");
  EXPECT_EQ(t->changed_section_name("other"), "");
}

TEST(Renames, UserFilesAddGroups) {
  auto t = builtin_renames();
  ASSERT_TRUE(t.ok());
  auto more = parse_renames(R"({"fields": {"hpet": ["a", "b"], "new": ["x", "y"]}, "sections": [["old", "new"]]})");
  ASSERT_TRUE(more.ok()) << more.error().message();
  merge_renames(*t, *more);
  EXPECT_TRUE(t->names_match("hpet", "a", "b"));
  EXPECT_TRUE(t->names_match("hpet", "num_timers", "num_timers_save"));
  EXPECT_FALSE(t->names_match("hpet", "a", "num_timers"));  // different groups
  EXPECT_TRUE(t->names_match("new", "y", "x"));
  EXPECT_EQ(t->changed_section_name("new"), "old");
  for (const char* bad : {R"({"fields": []})", R"({"fields": {"k": "v"}})", R"({"fields": {"k": [1]}})",
                          R"({"sections": [["a"]]})", R"({"sections": [["a", 2]]})", "{"}) {
    auto r = parse_renames(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::invalid_json);
    }
  }
  auto r = parse_renames(R"({"fields": {"k": ["a", 7]}})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("$.fields.k[1]: expected a string"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace migscope::compat
