#include "migscope/value.h"

namespace migscope {

void FieldValue::add_field(std::string_view name, FieldValue v) {
  // Array elements repeat the name just added: look at the last member first.
  if (!members.empty() && members.back().first == name && members.back().second.kind == Kind::list) {
    members.back().second.items.push_back(std::move(v));
    return;
  }
  for (auto& [k, existing] : members) {
    if (k != name) continue;
    if (existing.kind == Kind::list) {
      existing.items.push_back(std::move(v));
    } else {
      FieldValue list;
      list.kind = Kind::list;
      list.items.push_back(std::move(existing));
      list.items.push_back(std::move(v));
      existing = std::move(list);
    }
    return;
  }
  members.emplace_back(name, std::move(v));
}

void FieldValue::set_member(std::string_view name, FieldValue v) {
  for (auto& [k, existing] : members)
    if (k == name) {
      existing = std::move(v);
      return;
    }
  members.emplace_back(name, std::move(v));
}

}  // namespace migscope
