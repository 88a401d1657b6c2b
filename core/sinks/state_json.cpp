#include "sinks/state_json.h"

#include <cstdio>
#include <vector>

#include "stream/format.h"

namespace migscope {


void format_hex_bytes(std::string& out, Bytes raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + raw.size() * 3);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (i) out += ' ';
    auto b = static_cast<unsigned char>(raw[i]);
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
}

void format_int(std::string& out, Bytes raw, bool is_signed) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Python's '0x%0{2n}x' of the unsigned value is every byte in hex, big-endian.
  out += "0x";
  for (std::byte b : raw) {
    out += kHex[static_cast<unsigned char>(b) >> 4];
    out += kHex[static_cast<unsigned char>(b) & 0xf];
  }
  if (!is_signed || raw.empty() || (static_cast<unsigned char>(raw[0]) & 0x80) == 0) return;
  // Negative: Python prints the decimal too, at any width. Magnitude = two's
  // complement negation, then long division by 10 over the big-endian bytes.
  std::vector<unsigned char> mag(raw.size());
  unsigned carry = 1;
  for (std::size_t i = raw.size(); i-- > 0;) {
    unsigned v = (~static_cast<unsigned char>(raw[i]) & 0xffu) + carry;
    mag[i] = static_cast<unsigned char>(v & 0xff);
    carry = v >> 8;
  }
  std::string digits;
  std::size_t first = 0;
  while (first < mag.size()) {
    unsigned rem = 0;
    for (std::size_t i = first; i < mag.size(); ++i) {
      unsigned cur = (rem << 8) | mag[i];
      mag[i] = static_cast<unsigned char>(cur / 10);
      rem = cur % 10;
    }
    digits += static_cast<char>('0' + rem);
    while (first < mag.size() && mag[first] == 0) ++first;
  }
  out += " (-";
  out.append(digits.rbegin(), digits.rend());
  out += ')';
}

void write_state_value(json::PyWriter& w, const FieldValue& v, std::string& scratch) {
  switch (v.kind) {
    case FieldValue::Kind::signed_int:
    case FieldValue::Kind::unsigned_int:
      scratch.clear();
      format_int(scratch, v.raw, v.kind == FieldValue::Kind::signed_int);
      w.string(scratch);
      return;
    case FieldValue::Kind::boolean:
      w.boolean(v.flag);
      return;
    case FieldValue::Kind::bytes:
      scratch.clear();
      format_hex_bytes(scratch, v.raw);
      w.string(scratch);
      return;
    case FieldValue::Kind::null_marker:
      w.string("nullptr");
      return;
    case FieldValue::Kind::text:
      w.string(as_chars(v.raw));
      return;
    case FieldValue::Kind::object:
      w.start_object();
      for (const auto& [name, member] : v.members) {
        w.key(name);
        write_state_value(w, member, scratch);
      }
      w.end_object();
      return;
    case FieldValue::Kind::list:
      w.start_array();
      for (const auto& item : v.items) write_state_value(w, item, scratch);
      w.end_array();
      return;
  }
}

Status StateJsonSink::on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) {
  pending_blocks_.clear();
  for (const auto& b : blocks) pending_blocks_.emplace_back(std::string(b.name), b.length);
  return {};
}

Status StateJsonSink::on_section(const SectionEvent& ev) {
  if (ev.type != wire::kSectionStart && ev.type != wire::kSectionFull) return {};
  const SectionInfo& info = *ev.info;
  scratch_.assign(info.idstr);
  scratch_ += " (" + std::to_string(info.id) + ")";
  w_.key(scratch_);
  switch (info.kind) {
    case SectionKind::ram: {
      w_.start_object();
      w_.key("section sizes");
      w_.start_object();
      char buf[24];
      for (const auto& [name, length] : pending_blocks_) {
        w_.key(name);
        std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(length));
        w_.string(buf);
      }
      w_.end_object();
      pending_blocks_.clear();
      if (memory_) {
        w_.key("memory");
        w_.start_object();
        MIGSCOPE_TRY(memory_(w_));
        w_.end_object();
      }
      w_.end_object();
      return {};
    }
    case SectionKind::device:
      if (ev.state) {
        write_state_value(w_, *ev.state, scratch_);
        return {};
      }
      break;  // did not match its description: opaque bytes
    case SectionKind::htab:
    case SectionKind::storage_attributes:
    case SectionKind::dirty_bitmap:
    case SectionKind::block:
    case SectionKind::vfio:
      w_.string("");
      return {};
    case SectionKind::storage_keys:
    case SectionKind::opaque:
      break;
  }
  scratch_.clear();
  format_hex_bytes(scratch_, ev.body);
  w_.string(scratch_);
  return {};
}

}  // namespace migscope
