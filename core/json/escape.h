// String escaping for every text output: JSON as Python's json module writes
// it (upstream-compatible outputs), plain JSON (migscope's own reports) and XML.
#pragma once

#include <string>
#include <string_view>

namespace migscope::json {

/// Append `s` as a JSON string literal, escaped like Python's json with
/// ensure_ascii (lowercase \u00xx; DEL and non-ASCII escaped; malformed UTF-8
/// taken byte by byte as Latin-1).
void append_python_string(std::string& out, std::string_view s);

/// Append `s` as a JSON string literal (quotes included), well-formed UTF-8
/// kept as is, malformed bytes as U+FFFD (the literal stays valid JSON);
/// control bytes and DEL escaped.
void append_json_string(std::string& out, std::string_view s);

/// Append `s` escaped for XML text and attribute values; characters XML 1.0
/// forbids (C0 controls other than tab, LF, CR) become U+FFFD.
void append_xml_escaped(std::string& out, std::string_view s);

}  // namespace migscope::json
