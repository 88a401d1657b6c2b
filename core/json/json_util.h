// The JSON layer shared by every room: one parser (iterative, UTF-8
// validated), helpers over RapidJSON values with Python-dict semantics where
// the upstream tools rely on them (a duplicated key means its last value),
// and JSON paths for error messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "migscope/error.h"

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

/// What may follow the root value.
enum class Trailing : bool {
  rejected,  ///< one root value and nothing after it (documents read whole)
  ignored,   ///< parsing stops after the root value (the vmdesc trailer: QEMU may pad it)
};

/// The one JSON parser of migscope: iterative (no recursion however deep the
/// input), UTF-8 validated. `what` names the document in the error
/// ("-dump-vmstate", "vmdesc JSON", "baseline", ...); the error's offset is
/// the byte in `text` where parsing failed.
Status parse(std::string_view text, rapidjson::Document& doc, std::string_view what,
             Trailing trailing = Trailing::rejected);

/// The same parse, in place: the document's strings point into `text`, which
/// is modified (unescaped, terminated) and must outlive `doc`. No string is
/// copied, and whitespace is skipped 16 bytes at a time: the checker's way to
/// read a 1 MB -dump-vmstate in about a millisecond. Same errors and offsets
/// as parse() (a text holding a NUL byte is parsed by parse()).
Status parse_in_place(std::string& text, rapidjson::Document& doc, std::string_view what,
                      Trailing trailing = Trailing::rejected);

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
const char* type_name(const Value& v);

/// Typed access; each returns a path error naming the expectation.
Result<std::int64_t> get_int(const Value& v, const PathStep& at);
Result<std::string> get_string(const Value& v, const PathStep& at);
Status expect_object(const Value& v, const PathStep& at);
Status expect_array(const Value& v, const PathStep& at);

}  // namespace migscope::json
