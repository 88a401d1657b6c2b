#include "migscope/error.h"

#include <cstdio>

namespace migscope {

std::string_view error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok: return "ok";
    case ErrorCode::usage: return "usage";
    case ErrorCode::not_a_stream: return "not a QEMU migration stream";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::truncated: return "truncated";
    case ErrorCode::corrupt: return "corrupt";
    case ErrorCode::invalid_json: return "invalid JSON";
    case ErrorCode::output_refused: return "output refused";
    case ErrorCode::io: return "I/O error";
  }
  return "unknown";
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out += ch;
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    }
  }
  return out;
}

std::string Error::message() const {
  std::string out;
  if (has_offset()) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "at 0x%llx: ", static_cast<unsigned long long>(offset));
    out += buf;
  }
  out += error_code_name(code);
  if (!detail.empty()) {
    out += ": ";
    // Details quote names read from the input: keep the message one printable
    // line whatever bytes they hold.
    out += printable(detail);
  }
  return out;
}

}  // namespace migscope
