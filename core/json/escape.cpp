#include "json/escape.h"

#include <cstdint>
#include <cstdio>

namespace migscope::json {

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

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Well-formed UTF-8 is kept; a malformed byte (or an encoded
      // surrogate) would make the document invalid JSON: U+FFFD instead.
      const std::size_t at = i;
      const std::uint32_t cp = next_code_point(s, i);
      if (i - at > 1 && (cp < 0xd800 || cp > 0xdfff)) out.append(s.substr(at, i - at));
      else out += "\xef\xbf\xbd";
      continue;
    }
    ++i;
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
          out += static_cast<char>(c);
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

}  // namespace migscope::json
