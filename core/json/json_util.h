// Small helpers over RapidJSON values, with Python-dict semantics where the
// upstream tools rely on them (a duplicated key means its last value).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace migscope::json {

using Value = rapidjson::Value;

inline std::string_view view(const Value& v) noexcept { return {v.GetString(), v.GetStringLength()}; }

/// The value of the last member named `name` (Python's json keeps the last duplicate), or null.
const Value* member(const Value& object, std::string_view name) noexcept;

/// Integer value of a member if it is a non-negative integer that fits in 64 bits.
std::optional<std::uint64_t> uint_member(const Value& object, std::string_view name) noexcept;

/// String value of a member, if it is a string.
std::optional<std::string_view> string_member(const Value& object, std::string_view name) noexcept;

/// Nesting depth of a document, computed without recursion.
std::size_t depth(const Value& root);

}  // namespace migscope::json
