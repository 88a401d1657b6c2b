#include "json/json_util.h"

#include <vector>

namespace migscope::json {

const Value* member(const Value& object, std::string_view name) noexcept {
  if (!object.IsObject()) return nullptr;
  const Value* found = nullptr;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it)
    if (view(it->name) == name) found = &it->value;
  return found;
}

std::optional<std::uint64_t> uint_member(const Value& object, std::string_view name) noexcept {
  const Value* v = member(object, name);
  if (!v || !v->IsUint64()) return std::nullopt;
  return v->GetUint64();
}

std::optional<std::string_view> string_member(const Value& object, std::string_view name) noexcept {
  const Value* v = member(object, name);
  if (!v || !v->IsString()) return std::nullopt;
  return view(*v);
}

std::size_t depth(const Value& root) {
  std::size_t max_depth = 0;
  std::vector<std::pair<const Value*, std::size_t>> stack{{&root, 1}};
  while (!stack.empty()) {
    auto [v, d] = stack.back();
    stack.pop_back();
    if (d > max_depth) max_depth = d;
    if (v->IsObject()) {
      for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it)
        if (it->value.IsObject() || it->value.IsArray()) stack.emplace_back(&it->value, d + 1);
    } else if (v->IsArray()) {
      for (auto it = v->Begin(); it != v->End(); ++it)
        if (it->IsObject() || it->IsArray()) stack.emplace_back(&*it, d + 1);
    }
  }
  return max_depth;
}

}  // namespace migscope::json
