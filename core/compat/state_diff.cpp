#include "compat/state_diff.h"

#include <fnmatch.h>

#include <map>
#include <tuple>
#include <unordered_map>

#include <rapidjson/writer.h>

#include "json/json_util.h"

namespace migscope::compat {

using json::Value;

bool split_state_key(std::string_view key, std::string& idstr, std::uint32_t& number) {
  const std::size_t open = key.rfind(" (");
  if (open == std::string_view::npos || key.size() < open + 4 || key.back() != ')') return false;
  std::uint64_t n = 0;
  for (std::size_t i = open + 2; i + 1 < key.size(); ++i) {
    const char c = key[i];
    if (c < '0' || c > '9' || n > 0xffffffffu) return false;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (n > 0xffffffffu) return false;
  idstr.assign(key.substr(0, open));
  number = static_cast<std::uint32_t>(n);
  return true;
}

bool path_ignored(std::string_view path, const std::vector<std::string>& globs) {
  if (globs.empty()) return false;
  std::string prefix;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/' || path[i] == '[') {
      prefix.assign(path.substr(0, i));
      for (const auto& g : globs)
        if (fnmatch(g.c_str(), prefix.c_str(), 0) == 0) return true;
    }
  }
  return false;
}

namespace {

constexpr std::size_t kMaxDepth = 64;

std::string_view name_of(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

// A value as `state` renders it: strings as they are, the rest as compact JSON.
std::string render(const Value& v) {
  if (v.IsString()) return std::string(name_of(v));
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return {sb.GetString(), sb.GetSize()};
}

struct Section {
  std::string key, idstr;
  std::uint32_t instance = 0;
  std::optional<std::uint32_t> version;
  const Value* value = nullptr;
};

Result<std::vector<Section>> sections_of(const rapidjson::Document& doc, const StateDocument& in) {
  if (!doc.IsObject())
    return make_error(ErrorCode::invalid_json, 0, in.name + ": a state document is a JSON object, not " + json::type_name(doc));
  std::unordered_map<std::string_view, const StateSection*> known;
  for (const auto& s : in.sections) known.emplace(s.key, &s);
  std::map<std::string, std::uint32_t> ordinal;  // instances of an idstr seen so far (a document alone)
  std::vector<Section> out;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    Section s;
    s.key.assign(name_of(it->name));
    s.value = &it->value;
    if (auto k = known.find(s.key); k != known.end()) {
      s.idstr = k->second->idstr;
      s.instance = k->second->instance;
      s.version = k->second->version;
    } else {
      std::uint32_t section_id = 0;
      if (!split_state_key(s.key, s.idstr, section_id)) s.idstr = s.key;
      // QEMU numbers a type's instances in registration order, which is the
      // order their sections are sent in.
      s.instance = ordinal[s.idstr]++;
    }
    out.push_back(std::move(s));
  }
  return out;
}

class Comparer {
 public:
  Comparer(StateDiff& out, const StateDiffOptions& options) : out_(out), options_(options) {}

  void add(diff::DiffKind kind, const std::string& path, std::string a, std::string b) {
    if (path_ignored(path, options_.ignores)) {
      ++out_.ignored;
      return;
    }
    out_.differences.push_back({kind, path, std::move(a), std::move(b)});
  }

  void compare(const Value& a, const Value& b, std::string& path) {
    if (a.IsObject() && b.IsObject()) return compare_objects(a, b, path);
    if (a.IsArray() && b.IsArray()) return compare_arrays(a, b, path);
    if (a == b) return;
    add(diff::DiffKind::field, path, render(a), render(b));
  }

 private:
  static bool is_subsection(std::string_view name, const Value& v) {
    return v.IsObject() && name.find('/') != std::string_view::npos;
  }

  void only_in(bool in_a, std::string_view name, const Value& v, std::string& path) {
    const std::size_t mark = path.size();
    path += '/';
    path += name;
    using K = diff::DiffKind;
    const K kind = is_subsection(name, v) ? (in_a ? K::subsection_only_a : K::subsection_only_b)
                                          : (in_a ? K::field_only_a : K::field_only_b);
    add(kind, path, in_a ? render(v) : std::string(), in_a ? std::string() : render(v));
    path.resize(mark);
  }

  void compare_objects(const Value& a, const Value& b, std::string& path) {
    // Member lookup in B: by map when the object is big (ICH9LPC's has thousands).
    std::unordered_map<std::string_view, const Value*> index;
    const bool big = b.MemberCount() > 16;
    if (big)
      for (auto it = b.MemberBegin(); it != b.MemberEnd(); ++it) index.emplace(name_of(it->name), &it->value);
    auto find_b = [&](std::string_view name) -> const Value* {
      if (big) {
        auto f = index.find(name);
        return f == index.end() ? nullptr : f->second;
      }
      for (auto it = b.MemberBegin(); it != b.MemberEnd(); ++it)
        if (name_of(it->name) == name) return &it->value;
      return nullptr;
    };
    for (auto it = a.MemberBegin(); it != a.MemberEnd(); ++it) {
      const std::string_view name = name_of(it->name);
      const Value* other = find_b(name);
      if (!other) {
        only_in(true, name, it->value, path);
        continue;
      }
      const std::size_t mark = path.size();
      path += '/';
      path += name;
      compare(it->value, *other, path);
      path.resize(mark);
    }
    for (auto it = b.MemberBegin(); it != b.MemberEnd(); ++it) {
      const std::string_view name = name_of(it->name);
      bool in_a = false;
      if (a.MemberCount() > 16) {
        in_a = a.FindMember(it->name) != a.MemberEnd();
      } else {
        for (auto ia = a.MemberBegin(); ia != a.MemberEnd() && !in_a; ++ia) in_a = name_of(ia->name) == name;
      }
      if (!in_a) only_in(false, name, it->value, path);
    }
  }

  void compare_arrays(const Value& a, const Value& b, std::string& path) {
    const rapidjson::SizeType common = std::min(a.Size(), b.Size());
    if (a.Size() != b.Size())
      add(diff::DiffKind::list_length, path, std::to_string(a.Size()) + " items", std::to_string(b.Size()) + " items");
    for (rapidjson::SizeType i = 0; i < common; ++i) {
      const std::size_t mark = path.size();
      path += '[';
      path += std::to_string(i);
      path += ']';
      compare(a[i], b[i], path);
      path.resize(mark);
    }
  }

  StateDiff& out_;
  const StateDiffOptions& options_;
};

Status parse_state(const StateDocument& in, rapidjson::Document& doc) {
  if (auto st = json::parse(in.json, doc, "state JSON"); !st.ok()) {
    Error e = std::move(st).error();
    e.detail = in.name + ": " + e.detail;
    return e;
  }
  if (json::depth(doc) > kMaxDepth)
    return make_error(ErrorCode::invalid_json, 0, in.name + ": state JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
  return {};
}

}  // namespace

Result<StateDiff> diff_states(const StateDocument& a, const StateDocument& b, const StateDiffOptions& options) {
  rapidjson::Document da, db;
  MIGSCOPE_TRY(parse_state(a, da));
  MIGSCOPE_TRY(parse_state(b, db));
  MIGSCOPE_ASSIGN(std::vector<Section> sa, sections_of(da, a));
  MIGSCOPE_ASSIGN(std::vector<Section> sb, sections_of(db, b));
  auto skipped = [&](const Section& s) { return options.skip_ram && s.idstr == "ram"; };

  StateDiff out;
  Comparer cmp(out, options);
  // QEMU may send one (idstr, instance) more than once (7.2: a "slirp"
  // section 0 per -netdev user): the n-th of A is matched with the n-th of B.
  using Key = std::tuple<std::string_view, std::uint32_t, std::size_t>;
  std::map<std::pair<std::string_view, std::uint32_t>, std::size_t> seen_a, seen_b;
  std::map<Key, std::size_t> in_b;
  for (std::size_t i = 0; i < sb.size(); ++i)
    if (!skipped(sb[i])) {
      const std::size_t n = seen_b[{sb[i].idstr, sb[i].instance}]++;
      in_b.emplace(Key{sb[i].idstr, sb[i].instance, n}, i);
      ++out.sections_b;
    }
  std::vector<bool> matched(sb.size(), false);
  std::string path;
  for (const Section& s : sa) {
    if (skipped(s)) continue;
    ++out.sections_a;
    const std::size_t n = seen_a[{s.idstr, s.instance}]++;
    auto f = in_b.find(Key{s.idstr, s.instance, n});
    if (f == in_b.end() || matched[f->second]) {
      cmp.add(diff::DiffKind::section_only_a, s.key, "present", "absent");
      continue;
    }
    matched[f->second] = true;
    ++out.matched;
    const Section& t = sb[f->second];
    if (s.version && t.version && *s.version != *t.version)
      cmp.add(diff::DiffKind::section_version, s.key, std::to_string(*s.version), std::to_string(*t.version));
    path = s.key;
    cmp.compare(*s.value, *t.value, path);
  }
  for (std::size_t i = 0; i < sb.size(); ++i)
    if (!matched[i] && !skipped(sb[i])) cmp.add(diff::DiffKind::section_only_b, sb[i].key, "absent", "present");
  return out;
}

}  // namespace migscope::compat
