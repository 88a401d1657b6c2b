#include "json/py_writer.h"

namespace migscope::json {

void OutBuffer::Flush() {
  if (used_ == 0) return;
  if (text_) {
    text_->append(buf_, used_);
  } else if (file_ && !failed_) {
    if (std::fwrite(buf_, 1, used_, file_) != used_) failed_ = true;
  }
  used_ = 0;
}

namespace {

void append_u_escape(std::string& out, std::uint32_t unit) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u";
  out += kHex[(unit >> 12) & 0xf];
  out += kHex[(unit >> 8) & 0xf];
  out += kHex[(unit >> 4) & 0xf];
  out += kHex[unit & 0xf];
}

// Decode one UTF-8 sequence at s[i]; on malformed input take one byte as Latin-1.
std::uint32_t next_code_point(std::string_view s, std::size_t& i) {
  auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
  };
  auto bits = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + k]) & 0x3f); };
  if (b0 >= 0xc2 && b0 < 0xe0 && cont(1)) {
    std::uint32_t cp = ((b0 & 0x1fu) << 6) | bits(1);
    i += 2;
    return cp;
  }
  if (b0 >= 0xe0 && b0 < 0xf0 && cont(1) && cont(2)) {
    std::uint32_t cp = ((b0 & 0x0fu) << 12) | (bits(1) << 6) | bits(2);
    if (cp >= 0x800) {
      i += 3;
      return cp;
    }
  }
  if (b0 >= 0xf0 && b0 < 0xf5 && cont(1) && cont(2) && cont(3)) {
    std::uint32_t cp = ((b0 & 0x07u) << 18) | (bits(1) << 12) | (bits(2) << 6) | bits(3);
    if (cp >= 0x10000 && cp <= 0x10ffff) {
      i += 4;
      return cp;
    }
  }
  i += 1;
  return b0;
}

}  // namespace

void append_python_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      if (c == '"') out += "\\\"";
      else if (c == '\\') out += "\\\\";
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    switch (c) {
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      default: break;
    }
    std::uint32_t cp = next_code_point(s, i);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      append_u_escape(out, 0xd800 | (cp >> 10));
      append_u_escape(out, 0xdc00 | (cp & 0x3ff));
    } else {
      append_u_escape(out, cp);
    }
  }
  out += '"';
}

}  // namespace migscope::json
