#include "migscope/compat.h"

#include <cerrno>
#include <cstdio>
#include <array>
#include <cstring>
#include <unordered_set>

#include <sys/stat.h>

#include "json/json_util.h"

namespace migscope::compat {

using JsonValue = json::Value;
using json::PathStep;

namespace {

std::string_view name_of(const rapidjson::Value::ConstMemberIterator& it) {
  return {it->name.GetString(), it->name.GetStringLength()};
}

/// Keys of an object in order of first appearance (Python dict semantics).
std::vector<std::string> ordered_keys(const JsonValue& object) {
  std::vector<std::string> keys;
  keys.reserve(object.MemberCount());
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    std::string_view k = name_of(it);
    bool seen = false;
    for (const auto& have : keys)
      if (have == k) {
        seen = true;
        break;
      }
    if (!seen) keys.emplace_back(k);
  }
  return keys;
}

/// The members a parser reads from one object, found in one pass over it:
/// the last of duplicates, as json::member gives (Python's json keeps the
/// last), without a scan of the object per key.
template <std::size_t N>
class Members {
 public:
  Members(const JsonValue& object, const std::array<std::string_view, N>& names) {
    if (!object.IsObject()) return;
    for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
      const std::string_view k = name_of(it);
      for (std::size_t i = 0; i < N; ++i)
        if (k == names[i]) {
          values_[i] = &it->value;
          break;
        }
    }
  }
  const JsonValue* operator[](std::size_t i) const { return values_[i]; }

 private:
  std::array<const JsonValue*, N> values_{};
};

Error too_deep(const PathStep& at, std::size_t limit) {
  return json::path_error(at, "descriptions nested deeper than " + std::to_string(limit) + " levels");
}

// ---------------------------------------------------------------- -dump-vmstate

class DumpParser {
 public:
  explicit DumpParser(const ParseLimits& limits) : limits_(limits) {}

  // The model is filled where it lives (a vector's element, a unique_ptr's
  // target), not built and moved: a Result<VmsdField> moved twice per field
  // (BM_CheckerParseDump, old and new interleaved: 3-15 % less CPU).
  Status description(const JsonValue& v, const PathStep& at, std::size_t depth, VmsdDescription& d) {
    if (depth > limits_.max_depth) return too_deep(at, limits_.max_depth);
    MIGSCOPE_TRY(json::expect_object(v, at));
    enum { kName, kVersion, kMinimum, kFields, kSubsections };
    const Members<5> m(v, {"name", "version_id", "minimum_version_id", "Fields", "Subsections"});
    d.keys = ordered_keys(v);
    MIGSCOPE_TRY(required_string(m[kName], at, "name", d.name));
    MIGSCOPE_TRY(required_int(m[kVersion], at, "version_id", d.version_id));
    MIGSCOPE_TRY(written_by_qemu(m[kMinimum], at, "minimum_version_id"));
    if (m[kMinimum]) {
      MIGSCOPE_ASSIGN(d.minimum_version_id, json::get_int(*m[kMinimum], at.member("minimum_version_id")));
    }
    if (const JsonValue* f = m[kFields]) {
      PathStep fat = at.member("Fields");
      MIGSCOPE_TRY(json::expect_array(*f, fat));
      auto& fields = d.fields.emplace();
      fields.resize(f->Size());
      for (rapidjson::SizeType i = 0; i < f->Size(); ++i)
        MIGSCOPE_TRY(this->field((*f)[i], fat.element(i), depth, fields[i]));
    }
    if (const JsonValue* s = m[kSubsections]) {
      PathStep sat = at.member("Subsections");
      MIGSCOPE_TRY(json::expect_array(*s, sat));
      auto& subs = d.subsections.emplace();
      subs.resize(s->Size());
      for (rapidjson::SizeType i = 0; i < s->Size(); ++i)
        MIGSCOPE_TRY(description((*s)[i], sat.element(i), depth + 1, subs[i]));
    }
    return {};
  }

  Status field(const JsonValue& v, const PathStep& at, std::size_t depth, VmsdField& f) {
    MIGSCOPE_TRY(json::expect_object(v, at));
    enum { kField, kVersion, kSize, kExists, kMinimum, kNum, kDescription };
    const Members<7> m(v, {"field", "version_id", "size", "field_exists", "minimum_version_id", "num", "Description"});
    MIGSCOPE_TRY(required_string(m[kField], at, "field", f.field));
    MIGSCOPE_TRY(required_int(m[kVersion], at, "version_id", f.version_id));
    MIGSCOPE_TRY(required_int(m[kSize], at, "size", f.size));
    MIGSCOPE_TRY(written_by_qemu(m[kExists], at, "field_exists"));
    if (m[kMinimum]) {
      MIGSCOPE_ASSIGN(f.minimum_version_id, json::get_int(*m[kMinimum], at.member("minimum_version_id")));
    }
    if (m[kNum]) {
      MIGSCOPE_ASSIGN(f.num, json::get_int(*m[kNum], at.member("num")));
    }
    if (const JsonValue* e = m[kExists]) {
      if (!e->IsBool()) return json::path_error(at.member("field_exists"), std::string("expected a boolean, got ") + json::type_name(*e));
      f.field_exists = e->GetBool();
    }
    if (m[kDescription]) {
      f.description = std::make_unique<VmsdDescription>();
      MIGSCOPE_TRY(description(*m[kDescription], at.member("Description"), depth + 1, *f.description));
    }
    return {};
  }

  Result<VmsdSection> section(std::string_view key, const JsonValue& v, const PathStep& at) {
    MIGSCOPE_TRY(json::expect_object(v, at));
    enum { kName, kMinimum, kDescription, kVersion };
    const Members<4> m(v, {"Name", "minimum_version_id", "Description", "version_id"});
    VmsdSection s;
    s.key = std::string(key);
    s.keys = ordered_keys(v);
    MIGSCOPE_TRY(written_by_qemu(m[kName], at, "Name"));
    MIGSCOPE_TRY(written_by_qemu(m[kMinimum], at, "minimum_version_id"));
    MIGSCOPE_TRY(written_by_qemu(m[kDescription], at, "Description"));
    if (m[kName]) {
      MIGSCOPE_ASSIGN(s.name, json::get_string(*m[kName], at.member("Name")));
    }
    MIGSCOPE_ASSIGN(s.version_id, required_int(m[kVersion], at, "version_id"));
    if (m[kMinimum]) {
      MIGSCOPE_ASSIGN(s.minimum_version_id, json::get_int(*m[kMinimum], at.member("minimum_version_id")));
    }
    if (m[kDescription]) MIGSCOPE_TRY(description(*m[kDescription], at.member("Description"), 1, s.description.emplace()));
    return s;
  }

  // `v`: the member `key` of the object at `at`, or null.
  static Result<std::string> required_string(const JsonValue* v, const PathStep& at, std::string_view key) {
    std::string out;
    MIGSCOPE_TRY(required_string(v, at, key, out));
    return out;
  }
  static Result<std::int64_t> required_int(const JsonValue* v, const PathStep& at, std::string_view key) {
    std::int64_t out = 0;
    MIGSCOPE_TRY(required_int(v, at, key, out));
    return out;
  }
  static Result<std::string> required_string(const JsonValue& obj, const PathStep& at, std::string_view key) {
    return required_string(json::member(obj, key), at, key);
  }
  static Result<std::int64_t> required_int(const JsonValue& obj, const PathStep& at, std::string_view key) {
    return required_int(json::member(obj, key), at, key);
  }
  static Status required_string(const JsonValue* v, const PathStep& at, std::string_view key, std::string& out) {
    if (v == nullptr) return json::path_error(at, "missing key \"" + std::string(key) + "\"");
    if (!v->IsString()) return json::get_string(*v, at.member(key)).error();
    out.assign(v->GetString(), v->GetStringLength());
    return {};
  }
  static Status required_int(const JsonValue* v, const PathStep& at, std::string_view key, std::int64_t& out) {
    if (v == nullptr) return json::path_error(at, "missing key \"" + std::string(key) + "\"");
    if (!v->IsInt64()) return json::get_int(*v, at.member(key)).error();
    out = v->GetInt64();
    return {};
  }

  // An entry QEMU's -dump-vmstate always writes (migration/savevm.c,
  // dump_vmstate_json and its helpers; "Fields" and "Subsections" only when
  // there are any): missing, the document is not QEMU's, unless lenient.
  Status written_by_qemu(const JsonValue* value, const PathStep& at, std::string_view key) const {
    if (limits_.lenient || value != nullptr) return {};
    return json::path_error(at, "missing key \"" + std::string(key) + "\", which QEMU's -dump-vmstate always writes");
  }

 private:
  const ParseLimits& limits_;
};

/// Walk the top-level object in key order: first position, last value.
template <typename Fn>
Status for_each_unique_member(const JsonValue& root, Fn&& fn) {
  std::unordered_map<std::string_view, rapidjson::SizeType> last;
  last.reserve(root.MemberCount());
  rapidjson::SizeType i = 0;
  for (auto it = root.MemberBegin(); it != root.MemberEnd(); ++it, ++i) last[name_of(it)] = i;
  std::unordered_map<std::string_view, bool> done;
  done.reserve(root.MemberCount());
  for (auto it = root.MemberBegin(); it != root.MemberEnd(); ++it) {
    std::string_view k = name_of(it);
    if (!done.emplace(k, true).second) continue;
    const JsonValue& value = (root.MemberBegin() + last[k])->value;
    MIGSCOPE_TRY(fn(k, value));
  }
  return {};
}

// ---------------------------------------------------------------- vmdesc

class VmdescParser {
 public:
  explicit VmdescParser(const ParseLimits& limits) : limits_(limits) {}

  // A vmsd as written by vmstate_save_state_v(): {vmsd_name, version, fields, subsections}.
  // `fallback_name` names old-style devices, which have no vmsd_name.
  Result<VmsdDescription> vmsd(const JsonValue& v, const PathStep& at, std::size_t depth,
                               std::string_view fallback_name) {
    if (depth > limits_.max_depth) return too_deep(at, limits_.max_depth);
    MIGSCOPE_TRY(json::expect_object(v, at));
    VmsdDescription d;
    if (const JsonValue* n = json::member(v, "vmsd_name")) {
      MIGSCOPE_ASSIGN(d.name, json::get_string(*n, at.member("vmsd_name")));
    } else {
      d.name = std::string(fallback_name);
    }
    if (const JsonValue* n = json::member(v, "version")) {
      MIGSCOPE_ASSIGN(d.version_id, json::get_int(*n, at.member("version")));
    }
    d.keys = {"name", "version_id", "Fields", "Subsections"};
    std::vector<VmsdField> fields;
    if (const JsonValue* f = json::member(v, "fields")) {
      PathStep fat = at.member("fields");
      MIGSCOPE_TRY(json::expect_array(*f, fat));
      fields.reserve(f->Size());
      for (rapidjson::SizeType i = 0; i < f->Size(); ++i) {
        MIGSCOPE_ASSIGN(auto field, this->field((*f)[i], fat.element(i), depth));
        fields.push_back(std::move(field));
      }
    }
    d.fields = std::move(fields);
    std::vector<VmsdDescription> subs;
    if (const JsonValue* s = json::member(v, "subsections")) {
      PathStep sat = at.member("subsections");
      MIGSCOPE_TRY(json::expect_array(*s, sat));
      for (rapidjson::SizeType i = 0; i < s->Size(); ++i) {
        MIGSCOPE_ASSIGN(auto sub, vmsd((*s)[i], sat.element(i), depth + 1, {}));
        subs.push_back(std::move(sub));
      }
    }
    d.subsections = std::move(subs);
    return d;
  }

  Result<VmsdField> field(const JsonValue& v, const PathStep& at, std::size_t depth) {
    MIGSCOPE_TRY(json::expect_object(v, at));
    VmsdField f;
    MIGSCOPE_ASSIGN(f.field, DumpParser::required_string(v, at, "name"));
    MIGSCOPE_ASSIGN(f.size, DumpParser::required_int(v, at, "size"));
    if (const JsonValue* t = json::member(v, "type")) {
      MIGSCOPE_ASSIGN(f.type, json::get_string(*t, at.member("type")));
    }
    if (const JsonValue* n = json::member(v, "array_len")) {
      MIGSCOPE_ASSIGN(f.num, json::get_int(*n, at.member("array_len")));
    }
    if (const JsonValue* n = json::member(v, "index")) {
      MIGSCOPE_ASSIGN(std::int64_t index, json::get_int(*n, at.member("index")));
      f.field += '[';
      f.field += std::to_string(index);
      f.field += ']';
    }
    if (const JsonValue* s = json::member(v, "struct")) {
      MIGSCOPE_ASSIGN(auto desc, vmsd(*s, at.member("struct"), depth + 1, {}));
      f.description = std::make_unique<VmsdDescription>(std::move(desc));
    }
    return f;
  }

  Result<VmsdSection> device(const JsonValue& v, const PathStep& at) {
    MIGSCOPE_TRY(json::expect_object(v, at));
    MIGSCOPE_ASSIGN(std::string name, DumpParser::required_string(v, at, "name"));
    std::int64_t instance = 0;
    if (const JsonValue* n = json::member(v, "instance_id")) {
      MIGSCOPE_ASSIGN(instance, json::get_int(*n, at.member("instance_id")));
    }
    return make_section(name, instance, v, at);
  }

  Result<VmsdSection> make_section(const std::string& name, std::int64_t instance, const JsonValue& v,
                                   const PathStep& at) {
    VmsdSection s;
    s.key = name;
    if (instance != 0) {
      s.key += '#';
      s.key += std::to_string(instance);
    }
    s.name = name;
    MIGSCOPE_ASSIGN(s.description, vmsd(v, at, 1, name));
    s.version_id = s.description->version_id;
    s.keys = {"Name", "version_id", "Description"};
    return s;
  }

 private:
  const ParseLimits& limits_;
};

Status check_size(std::string_view json, const ParseLimits& limits, std::string_view what) {
  if (json.size() > limits.max_bytes)
    return make_error(ErrorCode::invalid_json, Error::no_offset,
                      std::string(what) + ": document larger than " + std::to_string(limits.max_bytes) + " bytes");
  return {};
}

}  // namespace

bool VmsdDescription::has_key(std::string_view wanted) const {
  for (const auto& k : keys)
    if (k == wanted) return true;
  return false;
}

bool VmsdSection::has_key(std::string_view wanted) const {
  for (const auto& k : keys)
    if (k == wanted) return true;
  return false;
}

const VmsdSection* VmstateDump::find(std::string_view key) const {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &sections[it->second];
}

void VmstateDump::reindex() {
  index_.clear();
  index_.reserve(sections.size());
  for (std::size_t i = 0; i < sections.size(); ++i) index_.emplace(sections[i].key, i);
}

namespace {

Result<VmstateDump> build_dump(const rapidjson::Document& doc, const ParseLimits& limits) {
  PathStep root;
  MIGSCOPE_TRY(json::expect_object(doc, root));
  VmstateDump dump;
  dump.origin = VmstateDump::Origin::dump_vmstate;
  dump.sections.reserve(doc.MemberCount());
  DumpParser parser(limits);
  MIGSCOPE_TRY(for_each_unique_member(doc, [&](std::string_view key, const JsonValue& value) -> Status {
    PathStep at = root.member(key);
    if (key == "vmschkmachine") {
      MIGSCOPE_TRY(json::expect_object(value, at));
      MIGSCOPE_ASSIGN(dump.machine, DumpParser::required_string(value, at, "Name"));
      dump.has_machine_entry = true;
      dump.machine_position = dump.sections.size();
      return {};
    }
    MIGSCOPE_ASSIGN(auto section, parser.section(key, value, at));
    dump.sections.push_back(std::move(section));
    return {};
  }));
  // QEMU's -dump-vmstate always names the machine and lists device classes:
  // an empty or foreign document must not pass a release gate as "no findings".
  if (!dump.has_machine_entry && dump.sections.empty())
    return json::path_error(root, "no \"vmschkmachine\" entry and no device sections: not a -dump-vmstate document");
  if (!dump.has_machine_entry && !limits.lenient)
    return json::path_error(root, "no \"vmschkmachine\" entry, which QEMU's -dump-vmstate always writes");
  dump.reindex();
  return dump;
}

Result<VmstateDump> build_vmdesc(const rapidjson::Document& doc, const ParseLimits& limits) {
  PathStep root;
  MIGSCOPE_TRY(json::expect_object(doc, root));
  VmstateDump dump;
  dump.origin = VmstateDump::Origin::vmdesc;
  VmdescParser parser(limits);
  if (const JsonValue* p = json::member(doc, "page_size")) {
    MIGSCOPE_ASSIGN(dump.page_size, json::get_int(*p, root.member("page_size")));
  }
  if (const JsonValue* c = json::member(doc, "configuration")) {
    MIGSCOPE_ASSIGN(auto section, parser.make_section("configuration", 0, *c, root.member("configuration")));
    dump.sections.push_back(std::move(section));
  }
  const JsonValue* devices = json::member(doc, "devices");
  if (devices == nullptr) return json::path_error(root, "missing key \"devices\"");
  PathStep dat = root.member("devices");
  MIGSCOPE_TRY(json::expect_array(*devices, dat));
  for (rapidjson::SizeType i = 0; i < devices->Size(); ++i) {
    MIGSCOPE_ASSIGN(auto section, parser.device((*devices)[i], dat.element(i)));
    dump.sections.push_back(std::move(section));
  }
  // Two devices with the same idstr and instance id: QEMU writes that (7.2,
  // three `-netdev user`: three "slirp" sections, instance 0) and its loader's
  // find_se() then gives every one of them to the first. Keep the first.
  if (dump.sections.size() > 1) {
    std::unordered_set<std::string> seen;
    std::vector<VmsdSection> kept;
    kept.reserve(dump.sections.size());
    for (auto& s : dump.sections)
      if (seen.insert(s.key).second) kept.push_back(std::move(s));
    dump.sections = std::move(kept);
  }
  dump.reindex();
  return dump;
}

bool looks_like_vmdesc(const rapidjson::Document& doc) {
  const JsonValue* devices = doc.IsObject() ? json::member(doc, "devices") : nullptr;
  return devices != nullptr && devices->IsArray();
}

}  // namespace

Result<VmstateDump> parse_vmstate_dump_in_place(std::string& json, const ParseLimits& limits) {
  MIGSCOPE_TRY(check_size(json, limits, "-dump-vmstate"));
  rapidjson::Document doc;
  MIGSCOPE_TRY(json::parse_in_place(json, doc, "-dump-vmstate"));
  return build_dump(doc, limits);
}

Result<VmstateDump> parse_vmstate_any_in_place(std::string& json, const ParseLimits& limits) {
  MIGSCOPE_TRY(check_size(json, limits, "JSON"));
  rapidjson::Document doc;
  MIGSCOPE_TRY(json::parse_in_place(json, doc, "JSON"));
  if (looks_like_vmdesc(doc)) return build_vmdesc(doc, limits);
  return build_dump(doc, limits);
}

Result<VmstateDump> parse_vmdesc_in_place(std::string& json, const ParseLimits& limits) {
  MIGSCOPE_TRY(check_size(json, limits, "vmdesc"));
  rapidjson::Document doc;
  MIGSCOPE_TRY(json::parse_in_place(json, doc, "vmdesc"));
  return build_vmdesc(doc, limits);
}

Result<VmstateDump> parse_vmstate_dump(std::string_view json, const ParseLimits& limits) {
  MIGSCOPE_TRY(check_size(json, limits, "-dump-vmstate"));
  std::string text(json);
  return parse_vmstate_dump_in_place(text, limits);
}

Result<VmstateDump> parse_vmdesc(std::string_view json, const ParseLimits& limits) {
  MIGSCOPE_TRY(check_size(json, limits, "vmdesc"));
  std::string text(json);
  return parse_vmdesc_in_place(text, limits);
}

Result<VmstateDump> parse_vmstate_any(std::string_view json, const ParseLimits& limits) {
  MIGSCOPE_TRY(check_size(json, limits, "JSON"));
  std::string text(json);
  return parse_vmstate_any_in_place(text, limits);
}

Result<std::string> read_text_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return make_error(ErrorCode::io, Error::no_offset, std::string("cannot open: ") + std::strerror(errno));
  std::string out;
  // A regular file is read in one go into a buffer of its size (plus the
  // padding an in-place parse wants); a pipe or a growing file in chunks.
  struct stat st {};
  if (::fstat(::fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      static_cast<std::uint64_t>(st.st_size) < (std::uint64_t{1} << 40))
    out.reserve(static_cast<std::size_t>(st.st_size) + 16);
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool failed = std::ferror(f) != 0;
  int saved = errno;
  std::fclose(f);
  if (failed) return make_error(ErrorCode::io, Error::no_offset, std::string("read failed: ") + std::strerror(saved));
  return out;
}

}  // namespace migscope::compat
