// Internal helpers of the compat library: parsing JSON text with RapidJSON
// without recursion or exceptions, JSON paths for error messages, typed member
// access with Python-json semantics for repeated keys, and output escaping.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "wire/error.h"

namespace migscope::compat::detail {

using JsonValue = rapidjson::Value;

/// Parse `text` into `doc`: iterative (no recursion however deep the input),
/// UTF-8 validated, one root value and nothing after it. `what` names the
/// document in the error ("-dump-vmstate", "vmdesc", "baseline", ...).
Status parse_json(std::string_view text, rapidjson::Document& doc, std::string_view what);

/// One step of a JSON path; a chain of these lives on the stack while walking
/// and is rendered only when an error is reported.
struct PathStep {
  const PathStep* parent = nullptr;
  std::string_view key;       ///< member name, when index < 0
  std::int64_t index = -1;    ///< array index, when >= 0

  PathStep member(std::string_view k) const { return PathStep{this, k, -1}; }
  PathStep element(std::size_t i) const { return PathStep{this, {}, static_cast<std::int64_t>(i)}; }
};

/// "$.fw_cfg.Description.Fields[3].size"; keys that are not plain identifiers
/// are written as ["key"].
std::string render_path(const PathStep& step);

Error path_error(const PathStep& at, std::string_view what);

/// JSON type name as used in messages ("an object", "a string", ...).
const char* type_name(const JsonValue& v);

/// The member named `key`, or null; with repeated keys the *last* one wins
/// (Python's json.load keeps the last value).
const JsonValue* find_member(const JsonValue& object, std::string_view key);

/// Typed access; each returns a path error naming the expectation.
Result<std::int64_t> get_int(const JsonValue& v, const PathStep& at);
Result<std::string> get_string(const JsonValue& v, const PathStep& at);
Status expect_object(const JsonValue& v, const PathStep& at);
Status expect_array(const JsonValue& v, const PathStep& at);

/// Append `s` to `out` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);
/// Append `s` escaped for XML text and attribute values; characters XML 1.0
/// forbids (C0 controls other than tab, LF, CR) become U+FFFD.
void append_xml_escaped(std::string& out, std::string_view s);

}  // namespace migscope::compat::detail
