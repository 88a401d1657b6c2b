#include "json/python_dump.h"

#include <string>
#include <unordered_map>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "json/json_util.h"

namespace migscope::json {

namespace {

void write_number(PyWriter& w, const rapidjson::Value& v) {
  if (v.IsUint64()) return w.uint64(v.GetUint64());
  if (v.IsInt64()) return w.int64(v.GetInt64());
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> plain(sb);
  v.Accept(plain);
  w.raw_number({sb.GetString(), sb.GetSize()});
}

}  // namespace

void write_python_json(PyWriter& w, const rapidjson::Value& root) {
  // Explicit stack: the document's depth is bounded by the parser, but the
  // walk itself needs no recursion either way.
  struct Frame {
    const rapidjson::Value* v;
    std::size_t next = 0;
    std::vector<std::pair<std::string_view, const rapidjson::Value*>> members;  // objects, deduplicated
  };
  auto open = [&](const rapidjson::Value& v) -> Frame {
    Frame f{&v, 0, {}};
    if (v.IsObject()) {
      std::unordered_map<std::string_view, std::size_t> index;
      for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        std::string_view k = view(it->name);
        auto [pos, inserted] = index.emplace(k, f.members.size());
        if (inserted) f.members.emplace_back(k, &it->value);
        else f.members[pos->second].second = &it->value;
      }
      w.start_object();
    } else {
      w.start_array();
    }
    return f;
  };
  auto scalar = [&](const rapidjson::Value& v) {
    if (v.IsString()) w.string(view(v));
    else if (v.IsBool()) w.boolean(v.GetBool());
    else if (v.IsNull()) w.null();
    else write_number(w, v);
  };
  if (!root.IsObject() && !root.IsArray()) {
    scalar(root);
    return;
  }
  std::vector<Frame> stack;
  stack.push_back(open(root));
  while (!stack.empty()) {
    Frame& f = stack.back();
    const rapidjson::Value* child = nullptr;
    if (f.v->IsObject()) {
      if (f.next < f.members.size()) {
        w.key(f.members[f.next].first);
        child = f.members[f.next].second;
        ++f.next;
      }
    } else if (f.next < f.v->Size()) {
      child = &(*f.v)[static_cast<rapidjson::SizeType>(f.next)];
      ++f.next;
    }
    if (!child) {
      if (f.v->IsObject()) w.end_object();
      else w.end_array();
      stack.pop_back();
      continue;
    }
    if (child->IsObject() || child->IsArray()) stack.push_back(open(*child));
    else scalar(*child);
  }
}

}  // namespace migscope::json
