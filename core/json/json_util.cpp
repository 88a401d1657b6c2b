#include "json/json_util.h"

#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>

#include "json/escape.h"

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

namespace {

// Iterative parsing keeps the call stack flat for inputs like 100000 '['; the
// document's pool allocator frees without recursion too.
constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

Status parse_error(std::string_view text, const rapidjson::Document& doc, std::string_view what) {
  // The error's code already says "invalid JSON": name the document only when it says more.
  std::string detail;
  if (!what.empty() && what != "JSON") {
    detail += what;
    detail += ": ";
  }
  detail += rapidjson::GetParseError_En(doc.GetParseError());
  if (doc.GetErrorOffset() == 0 && !text.empty() && text.front() != '{' && text.front() != '[' && text.front() != ' ' &&
      text.front() != '\n')
    detail += " (the file does not start like a JSON document)";
  return make_error(ErrorCode::invalid_json, doc.GetErrorOffset(), std::move(detail));
}

}  // namespace

Status parse_in_place(std::string& text, rapidjson::Document& doc, std::string_view what, Trailing trailing) {
  // The in-situ stream ends at the first NUL: one inside the text is left to
  // the bounded parser, which reports it where it is.
  if (text.find('\0') != std::string::npos) return parse(text, doc, what, trailing);
  // The first byte matters for the message; the parse overwrites bytes.
  const char first = text.empty() ? '\0' : text.front();
  // RapidJSON's SIMD whitespace skipping loads 16 aligned bytes, which may lie
  // past the terminator: keep them inside the allocation.
  text.reserve(text.size() + 16);
  if (trailing == Trailing::ignored)
    doc.ParseInsitu<kParseFlags | rapidjson::kParseStopWhenDoneFlag>(text.data());
  else
    doc.ParseInsitu<kParseFlags>(text.data());
  if (doc.HasParseError()) {
    const char head[1] = {first};
    return parse_error(std::string_view(head, first == '\0' ? 0 : 1), doc, what);
  }
  return {};
}

Status parse(std::string_view text, rapidjson::Document& doc, std::string_view what, Trailing trailing) {
  rapidjson::MemoryStream stream(text.data(), text.size());
  if (trailing == Trailing::ignored)
    doc.ParseStream<kParseFlags | rapidjson::kParseStopWhenDoneFlag, rapidjson::UTF8<>>(stream);
  else
    doc.ParseStream<kParseFlags, rapidjson::UTF8<>>(stream);
  if (doc.HasParseError()) return parse_error(text, doc, what);
  return {};
}

namespace {

bool is_plain_key(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

void render_into(const PathStep* step, std::string& out) {
  if (step == nullptr) return;
  render_into(step->parent, out);
  if (step->parent == nullptr && step->index < 0 && step->key.empty()) {
    out += '$';
    return;
  }
  if (step->index >= 0) {
    out += '[';
    out += std::to_string(step->index);
    out += ']';
  } else if (is_plain_key(step->key)) {
    out += '.';
    out += step->key;
  } else {
    out += '[';
    append_json_string(out, step->key);
    out += ']';
  }
}

}  // namespace

std::string render_path(const PathStep& step) {
  std::string out;
  render_into(&step, out);
  return out;
}

Error path_error(const PathStep& at, std::string_view what) {
  std::string detail = render_path(at);
  detail += ": ";
  detail += what;
  return make_error(ErrorCode::invalid_json, Error::no_offset, std::move(detail));
}

const char* type_name(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "a boolean";
    case rapidjson::kObjectType: return "an object";
    case rapidjson::kArrayType: return "an array";
    case rapidjson::kStringType: return "a string";
    case rapidjson::kNumberType: return v.IsDouble() ? "a non-integer number" : "an integer";
  }
  return "an unknown value";
}

Result<std::int64_t> get_int(const Value& v, const PathStep& at) {
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsUint64()) return path_error(at, "integer out of range");
  std::string what = "expected an integer, got ";
  what += type_name(v);
  return path_error(at, what);
}

Result<std::string> get_string(const Value& v, const PathStep& at) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  std::string what = "expected a string, got ";
  what += type_name(v);
  return path_error(at, what);
}

Status expect_object(const Value& v, const PathStep& at) {
  if (v.IsObject()) return {};
  std::string what = "expected an object, got ";
  what += type_name(v);
  return path_error(at, what);
}

Status expect_array(const Value& v, const PathStep& at) {
  if (v.IsArray()) return {};
  std::string what = "expected an array, got ";
  what += type_name(v);
  return path_error(at, what);
}

}  // namespace migscope::json
