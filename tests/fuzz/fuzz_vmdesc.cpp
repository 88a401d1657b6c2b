// libFuzzer target: the vmdesc parser and the device-state decoder.
// Input: vmdesc JSON, a NUL, a section name, a NUL, then the section body.
// The body is decoded with the named device (instance 0) if the description
// has it, else with one chosen by the name's length, both literally and with
// QEMU 7.2's NULL-marker reading; the result is rendered as upstream's JSON.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "json/json_util.h"
#include "json/py_writer.h"
#include "json/python_dump.h"
#include "sinks/state_json.h"
#include "vmdesc/decoder.h"
#include "vmdesc/vmdesc.h"

using namespace migscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const char* text = reinterpret_cast<const char*>(data);
  const char* nul = size ? static_cast<const char*>(std::memchr(text, 0, size)) : nullptr;
  std::string_view json(text, nul ? static_cast<std::size_t>(nul - text) : size);
  std::string_view rest = nul ? std::string_view(nul + 1, size - json.size() - 1) : std::string_view();
  const char* nul2 = rest.empty() ? nullptr : static_cast<const char*>(std::memchr(rest.data(), 0, rest.size()));
  std::string_view name = nul2 ? rest.substr(0, static_cast<std::size_t>(nul2 - rest.data())) : rest;
  std::string_view body = nul2 ? rest.substr(name.size() + 1) : std::string_view();

  auto parsed = Vmdesc::parse(json, 0);
  if (!parsed.ok()) {
    fuzz::check_error(parsed.error(), json.size(), {ErrorCode::invalid_json});
    return 0;
  }
  const Vmdesc& desc = parsed.value();
  {
    // desc output (upstream -d desc).
    std::string out_text;
    json::OutBuffer out(&out_text);
    json::PyWriter w(out);
    json::write_python_json(w, desc.root());
    w.end_document();
  }
  const rapidjson::Value* device = desc.device(name, 0);
  if (!device) {
    const auto* devices = json::member(desc.root(), "devices");
    if (!devices || !devices->IsArray() || devices->Size() == 0) return 0;
    device = &(*devices)[static_cast<rapidjson::SizeType>(name.size() % devices->Size())];
  }
  const Bytes bytes{reinterpret_cast<const std::byte*>(body.data()), body.size()};
  for (bool null_marker : {false, true}) {
    Cursor c(bytes, 1000);
    auto v = decode_device(*device, c, name, DecodeOptions{null_marker});
    if (!v.ok()) {
      const Error& e = v.error();
      fuzz::check_error(e, 1000 + bytes.size(), {ErrorCode::invalid_json, ErrorCode::corrupt, ErrorCode::truncated});
      if (e.has_offset() && e.offset < 1000) fuzz::fail("error offset before the body", e);
      continue;
    }
    if (c.offset() > 1000 + bytes.size()) std::abort();
    std::string out_text, scratch;
    json::OutBuffer out(&out_text);
    json::PyWriter w(out);
    write_state_value(w, v.value(), scratch);
    w.end_document();
  }
  return 0;
}
