#include "vmdesc/vmdesc.h"

#include <cstring>

#include "json/json_util.h"
#include "json/py_writer.h"
#include "json/python_dump.h"

namespace migscope {

std::optional<VmdescTrailer> find_vmdesc_trailer(Bytes stream, std::uint64_t stream_offset, std::uint64_t window) {
  const std::size_t n = stream.size();
  if (n < 7) return std::nullopt;
  const std::byte* base = stream.data();
  // The JSON runs to the end: a stream whose last byte (white space aside)
  // closes no object has no trailer, and the window is not scanned (a cut
  // sparse save would fault in up to `window` bytes of holes for nothing).
  std::size_t last = n;
  while (last > 0 && (base[last - 1] == std::byte{' '} || base[last - 1] == std::byte{'\n'} ||
                      base[last - 1] == std::byte{'\r'} || base[last - 1] == std::byte{'\t'}))
    --last;
  if (last == 0 || base[last - 1] != std::byte{'}'}) return std::nullopt;
  // Candidates are '{' bytes: the JSON starts with one, 5 bytes after the 0x06.
  std::size_t lowest = n > window ? n - window : 0;
  std::size_t q = n - 2;  // a JSON object is at least "{}"
  // Searched back 64 KiB at a time: the answer is the same, and a checked
  // build's memrchr (which validates its whole range before searching) stays
  // proportional to the bytes read, not to the window per candidate.
  constexpr std::size_t kStep = 64 * 1024;
  for (;;) {
    const std::size_t from = q + 1 - lowest > kStep ? q + 1 - kStep : lowest;
    const void* hit = ::memrchr(base + from, '{', q + 1 - from);
    if (!hit) {
      if (from == lowest) return std::nullopt;
      q = from - 1;
      continue;
    }
    q = static_cast<std::size_t>(static_cast<const std::byte*>(hit) - base);
    if (q >= 5 && static_cast<std::uint8_t>(base[q - 5]) == 0x06 && load_be32(base + q - 4) == n - q)
      return VmdescTrailer{stream_offset + q - 5, as_chars(stream.subspan(q))};
    if (q == lowest) return std::nullopt;
    --q;
  }
}

Result<Vmdesc> Vmdesc::parse(std::string_view json_text, std::uint64_t offset) {
  Vmdesc d;
  d.doc_ = std::make_unique<rapidjson::Document>();
  auto at = [&](std::size_t pos) { return offset == Error::no_offset ? offset : offset + pos; };
  if (Status st = json::parse(json_text, *d.doc_, "vmdesc JSON", json::Trailing::ignored); !st.ok()) {
    Error e = std::move(st).error();
    e.offset = at(e.offset);
    return e;
  }
  const auto& root = *d.doc_;
  if (!root.IsObject()) return make_error(ErrorCode::invalid_json, at(0), "vmdesc JSON: expected an object at $");
  constexpr std::size_t kMaxDepth = 200;
  if (json::depth(root) > kMaxDepth)
    return make_error(ErrorCode::invalid_json, at(0),
                      "vmdesc JSON: nested deeper than " + std::to_string(kMaxDepth) + " levels");
  if (const auto* ps = json::member(root, "page_size")) {
    if (!ps->IsUint64() || ps->GetUint64() == 0 || (ps->GetUint64() & (ps->GetUint64() - 1)) != 0 ||
        ps->GetUint64() < 1024 || ps->GetUint64() > (1u << 20))
      return make_error(ErrorCode::invalid_json, at(0), "vmdesc JSON: $.page_size: expected a power of two from 1 KiB to 1 MiB");
    d.page_size_ = ps->GetUint64();
  }
  if (const auto* conf = json::member(root, "configuration"); conf && conf->IsObject()) d.configuration_ = conf;
  const auto* devices = json::member(root, "devices");
  if (!devices || !devices->IsArray())
    return make_error(ErrorCode::invalid_json, at(0), "vmdesc JSON: $.devices: expected an array");
  std::size_t i = 0;
  for (const auto& dev : devices->GetArray()) {
    std::string path = "vmdesc JSON: $.devices[" + std::to_string(i++) + "]";
    if (!dev.IsObject()) return make_error(ErrorCode::invalid_json, at(0), path + ": expected an object");
    auto name = json::string_member(dev, "name");
    const auto* inst = json::member(dev, "instance_id");
    if (!name) return make_error(ErrorCode::invalid_json, at(0), path + ".name: expected a string");
    if (!inst || !inst->IsUint())
      return make_error(ErrorCode::invalid_json, at(0), path + ".instance_id: expected an unsigned 32-bit integer");
    d.devices_[{*name, inst->GetUint()}] = &dev;
  }
  return d;
}

const rapidjson::Value* Vmdesc::device(std::string_view name, std::uint32_t instance) const {
  auto it = devices_.find({name, instance});
  return it == devices_.end() ? nullptr : it->second;
}

std::string Vmdesc::text() const {
  std::string out;
  {
    json::OutBuffer buffer(&out);
    json::PyWriter w(buffer);
    json::write_python_json(w, root());
    w.end_document();
  }
  return out;
}

}  // namespace migscope
