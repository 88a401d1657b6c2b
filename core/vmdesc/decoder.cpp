#include "vmdesc/decoder.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "json/json_util.h"

namespace migscope {

namespace {

enum class Reader : std::uint8_t { boolean, signed_int, unsigned_int, generic, structure, capability, null_marker };

// Upstream's reader table; every other type string is read as raw bytes by "size".
Reader reader_for(std::string_view type) {
  if (type == "bool") return Reader::boolean;
  if (type == "int8" || type == "int16" || type == "int32" || type == "int32 equal" || type == "int32 le" ||
      type == "int64" || type == "int64 equal" || type == "uint8 equal" || type == "uint16 equal")
    return Reader::signed_int;
  if (type == "uint8" || type == "uint16" || type == "uint32" || type == "uint32 equal" || type == "uint64")
    return Reader::unsigned_int;
  if (type == "struct") return Reader::structure;
  if (type == "capability") return Reader::capability;
  if (type == "nullptr") return Reader::null_marker;
  return Reader::generic;
}

constexpr std::size_t kMaxValuesPerSection = 1u << 20;

// What one vmdesc field says, read from its JSON object once (not once per
// array element). A repeated key means its last value, as in Python.
struct FieldSpec {
  std::optional<std::string_view> name, type;
  const rapidjson::Value* array_len = nullptr;
  const rapidjson::Value* size = nullptr;
  const rapidjson::Value* struct_desc = nullptr;
};

FieldSpec spec_of(const rapidjson::Value& f) {
  FieldSpec s;
  for (auto it = f.MemberBegin(); it != f.MemberEnd(); ++it) {
    std::string_view k = json::view(it->name);
    const rapidjson::Value& v = it->value;
    if (k == "name") s.name = v.IsString() ? std::optional(json::view(v)) : std::nullopt;
    else if (k == "type") s.type = v.IsString() ? std::optional(json::view(v)) : std::nullopt;
    else if (k == "size") s.size = &v;
    else if (k == "array_len") s.array_len = &v;
    else if (k == "struct") s.struct_desc = &v;
  }
  return s;
}

class Decoder {
 public:
  Decoder(Cursor& c, const DecodeOptions& o) : c_(c), options_(o) {}

  Result<FieldValue> decode_struct(const rapidjson::Value& desc) {
    FieldValue obj;
    obj.kind = FieldValue::Kind::object;
    const auto* fields = json::member(desc, "fields");
    if (!fields || !fields->IsArray())
      return make_error(ErrorCode::invalid_json, c_.offset(), "vmdesc: struct description has no \"fields\" array");
    for (const auto& f : fields->GetArray()) {
      if (!f.IsObject()) return make_error(ErrorCode::invalid_json, c_.offset(), "vmdesc: a field is not an object");
      const FieldSpec spec = spec_of(f);
      if (!spec.name) return make_error(ErrorCode::invalid_json, c_.offset(), "vmdesc: a field has no \"name\" string");
      const std::string_view name = *spec.name;
      std::uint64_t count = 1;
      if (spec.array_len) {
        if (!spec.array_len->IsUint64())
          return field_error(name, make_error(ErrorCode::invalid_json, c_.offset(), "vmdesc: \"array_len\" is not an unsigned integer"));
        count = spec.array_len->GetUint64() == 0 ? 1 : spec.array_len->GetUint64();  // upstream reads element 0 even for 0
      }
      if (count > kMaxValuesPerSection)
        return field_error(name, make_error(ErrorCode::corrupt, c_.offset(),
                                            "vmdesc: array_len " + std::to_string(count) + " is larger than any real section"));
      for (std::uint64_t i = 0; i < count; ++i) {
        auto v = read_field(spec);
        if (!v.ok()) return field_error(count > 1 ? indexed(name, i) : std::string(name), std::move(v).error());
        obj.add_field(name, std::move(v).value());
      }
    }
    if (const auto* subs = json::member(desc, "subsections")) {
      if (!subs->IsArray())
        return make_error(ErrorCode::invalid_json, c_.offset(), "vmdesc: \"subsections\" is not an array");
      for (const auto& sub : subs->GetArray()) {
        auto vmsd_name = sub.IsObject() ? json::string_member(sub, "vmsd_name") : std::nullopt;
        std::string expected = vmsd_name ? std::string(*vmsd_name) : std::string("?");
        std::uint64_t at = c_.offset();
        MIGSCOPE_ASSIGN(std::uint8_t marker, c_.read_u8("subsection marker"));
        if (marker != 0x05) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "expected subsection marker 0x05, found 0x%02x", marker);
          return make_error(ErrorCode::corrupt, at, "subsection '" + expected + "' not found: " + buf);
        }
        MIGSCOPE_ASSIGN(std::string_view name, c_.read_counted_string("subsection name"));
        MIGSCOPE_TRY(c_.read_be32("subsection version"));
        if (!sub.IsObject() || sub.MemberCount() == 0)
          return make_error(ErrorCode::invalid_json, at, "vmdesc: empty description for subsection '" + std::string(name) + "'");
        auto v = decode_struct(sub);
        if (!v.ok()) return field_error(name, std::move(v).error());
        obj.set_member(name, std::move(v).value());
      }
    }
    return obj;
  }

 private:
  static std::string indexed(std::string_view name, std::uint64_t i) {
    return std::string(name) + "[" + std::to_string(i) + "]";
  }

  // Errors unwind through the fields; each level records its name (cold path).
  Error field_error(std::string_view name, Error e) {
    error_path_.emplace_back(name);
    return e;
  }

 public:
  std::string error_path() const {
    std::string p;
    for (auto it = error_path_.rbegin(); it != error_path_.rend(); ++it) {
      if (!p.empty()) p += " > ";
      p += *it;
    }
    return p;
  }

 private:

  Result<FieldValue> read_field(const FieldSpec& f) {
    if (++values_ > kMaxValuesPerSection)
      return make_error(ErrorCode::corrupt, c_.offset(),
                        "the description expands to more than " + std::to_string(kMaxValuesPerSection) + " values");
    if (!f.type) return make_error(ErrorCode::invalid_json, c_.offset(), "vmdesc: field has no \"type\" string");
    const std::optional<std::string_view>& type = f.type;
    Reader reader = reader_for(*type);
    FieldValue v;
    if (reader == Reader::structure) {
      const auto* desc = f.struct_desc;
      if (!desc || !desc->IsObject())
        return make_error(ErrorCode::invalid_json, c_.offset(), "vmdesc: struct field has no \"struct\" object");
      if (options_.null_marker_for_struct) {
        auto first = c_.peek_u8("struct element");
        if (first.ok() && *first == 0x30) {
          c_.skip(1);
          v.kind = FieldValue::Kind::null_marker;
          return v;
        }
      }
      return decode_struct(*desc);
    }
    if (reader == Reader::capability) {
      MIGSCOPE_ASSIGN(std::string_view text, c_.read_counted_string("capability name"));
      v.kind = FieldValue::Kind::text;
      v.raw = Bytes{reinterpret_cast<const std::byte*>(text.data()), text.size()};
      return v;
    }
    std::optional<std::uint64_t> size;
    if (f.size && f.size->IsUint64()) size = f.size->GetUint64();
    if (!size) return make_error(ErrorCode::invalid_json, c_.offset(), "vmdesc: field has no unsigned \"size\"");
    if (*size > c_.remaining()) {
      MIGSCOPE_TRY(c_.need(static_cast<std::size_t>(std::min<std::uint64_t>(*size, SIZE_MAX)), std::string(*type) + " field"));
    }
    v.raw = c_.bytes(static_cast<std::size_t>(*size));
    switch (reader) {
      case Reader::boolean:
        if (v.raw.empty()) return make_error(ErrorCode::invalid_json, c_.offset(), "vmdesc: bool field of size 0");
        v.kind = FieldValue::Kind::boolean;
        v.flag = v.raw[0] != std::byte{0};
        break;
      case Reader::signed_int:
      case Reader::unsigned_int:
        if (v.raw.empty()) return make_error(ErrorCode::invalid_json, c_.offset(), "vmdesc: integer field of size 0");
        v.kind = reader == Reader::signed_int ? FieldValue::Kind::signed_int : FieldValue::Kind::unsigned_int;
        break;
      case Reader::null_marker:
        if (v.raw.size() != 1 || v.raw[0] != std::byte{0x30}) {
          char buf[96];
          std::snprintf(buf, sizeof buf, "expected NULL pointer marker 0x30, found %s0x%02x",
                        v.raw.size() != 1 ? "a field of another size starting with " : "",
                        v.raw.empty() ? 0u : static_cast<unsigned>(v.raw[0]));
          return make_error(ErrorCode::corrupt, c_.offset() - v.raw.size(), buf);
        }
        v.kind = FieldValue::Kind::null_marker;
        break;
      default:
        v.kind = FieldValue::Kind::bytes;
        break;
    }
    return v;
  }

  Cursor& c_;
  const DecodeOptions& options_;
  std::size_t values_ = 0;
  std::vector<std::string> error_path_;
};

}  // namespace

Result<FieldValue> decode_device(const rapidjson::Value& device, Cursor& c, std::string_view path,
                                 const DecodeOptions& options) {
  Decoder d(c, options);
  auto r = d.decode_struct(device);
  if (!r.ok()) {
    Error e = std::move(r).error();
    std::string where = "section '" + std::string(path) + "'";
    if (std::string fp = d.error_path(); !fp.empty()) where += " field '" + fp + "'";
    e.detail = where + ": " + e.detail;
    return e;
  }
  return r;
}

}  // namespace migscope
