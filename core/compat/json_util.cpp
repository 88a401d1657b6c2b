#include "compat/json_util.h"

#include <cstdio>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>

namespace migscope::compat::detail {

Status parse_json(std::string_view text, rapidjson::Document& doc, std::string_view what) {
  // Iterative parsing keeps the call stack flat for inputs like 100000 '['; the
  // document's pool allocator frees without recursion too.
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  rapidjson::MemoryStream stream(text.data(), text.size());
  doc.ParseStream<kFlags, rapidjson::UTF8<>>(stream);
  if (doc.HasParseError()) {
    std::string detail(what);
    detail += ": ";
    detail += rapidjson::GetParseError_En(doc.GetParseError());
    return make_error(ErrorCode::invalid_json, doc.GetErrorOffset(), std::move(detail));
  }
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

const char* type_name(const JsonValue& v) {
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

const JsonValue* find_member(const JsonValue& object, std::string_view key) {
  const JsonValue* found = nullptr;
  if (!object.IsObject()) return nullptr;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    if (name == key) found = &it->value;
  }
  return found;
}

Result<std::int64_t> get_int(const JsonValue& v, const PathStep& at) {
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsUint64()) return path_error(at, "integer out of range");
  std::string what = "expected an integer, got ";
  what += type_name(v);
  return path_error(at, what);
}

Result<std::string> get_string(const JsonValue& v, const PathStep& at) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  std::string what = "expected a string, got ";
  what += type_name(v);
  return path_error(at, what);
}

Status expect_object(const JsonValue& v, const PathStep& at) {
  if (v.IsObject()) return {};
  std::string what = "expected an object, got ";
  what += type_name(v);
  return path_error(at, what);
}

Status expect_array(const JsonValue& v, const PathStep& at) {
  if (v.IsArray()) return {};
  std::string what = "expected an array, got ";
  what += type_name(v);
  return path_error(at, what);
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void append_xml_escaped(std::string& out, std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default:
        if (c < 0x20)
          out += "\xEF\xBF\xBD";  // U+FFFD: XML 1.0 cannot carry C0 controls at all
        else
          out += ch;
    }
  }
}

}  // namespace migscope::compat::detail
