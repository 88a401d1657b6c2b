// A tolerant reader of the subset of XML libvirt writes for a domain:
// elements with attributes, text, entities, comments, processing
// instructions and CDATA. It keeps the path of open elements and picks out
// the fields of DomainSummary; anything else is skipped.
#include <cstdlib>
#include <string>
#include <vector>

#include "migscope/input.h"

namespace migscope {

namespace {

std::string decode_entities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out += s[i++];
      continue;
    }
    // Entity names are short: the ';' is looked for in the next bytes only
    // (a search to the end for every '&' made a run of them quadratic).
    const std::size_t semi = s.substr(i, 11).find(';');
    if (semi == std::string_view::npos) {
      out += s[i++];
      continue;
    }
    const std::size_t end = i + semi;
    const std::string_view name = s.substr(i + 1, end - i - 1);
    if (name == "amp") out += '&';
    else if (name == "lt") out += '<';
    else if (name == "gt") out += '>';
    else if (name == "quot") out += '"';
    else if (name == "apos") out += '\'';
    else if (!name.empty() && name[0] == '#') {
      const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
      const unsigned long cp = std::strtoul(std::string(name.substr(hex ? 2 : 1)).c_str(), nullptr, hex ? 16 : 10);
      if (cp < 0x80) out += static_cast<char>(cp);
      else out += '?';  // the fields we keep are ASCII in practice
    } else {
      out.append(s.substr(i, end - i + 1));
    }
    i = end + 1;
  }
  return out;
}

struct Element {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string attribute(std::string_view key) const {
    for (const auto& [k, v] : attributes)
      if (k == key) return v;
    return {};
  }
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Parse the inside of a start tag ("name a='1' b=\"2\""); false if malformed.
bool parse_tag(std::string_view body, Element& e) {
  std::size_t i = 0;
  while (i < body.size() && !is_space(body[i])) ++i;
  e.name = std::string(body.substr(0, i));
  if (e.name.empty()) return false;
  for (;;) {
    while (i < body.size() && is_space(body[i])) ++i;
    if (i >= body.size()) return true;
    const std::size_t eq = body.find('=', i);
    if (eq == std::string_view::npos) return false;
    std::string_view key = body.substr(i, eq - i);
    while (!key.empty() && is_space(key.back())) key.remove_suffix(1);
    i = eq + 1;
    while (i < body.size() && is_space(body[i])) ++i;
    if (i >= body.size() || (body[i] != '\'' && body[i] != '"')) return false;
    const char quote = body[i];
    const std::size_t close = body.find(quote, i + 1);
    if (close == std::string_view::npos) return false;
    e.attributes.emplace_back(std::string(key), decode_entities(body.substr(i + 1, close - i - 1)));
    i = close + 1;
  }
}

std::uint64_t to_kib(std::uint64_t value, std::string unit) {
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit == "b" || unit == "bytes") return value / 1024;
  if (unit.empty() || unit == "k" || unit == "kib") return value;
  if (unit == "kb") return value * 1000 / 1024;
  if (unit == "m" || unit == "mib") return value << 10;
  if (unit == "mb") return value * 1000000 / 1024;
  if (unit == "g" || unit == "gib") return value << 20;
  if (unit == "gb") return value * 1000000000 / 1024;
  if (unit == "t" || unit == "tib") return value << 30;
  return value;
}

std::string trimmed(std::string s) {
  std::size_t a = 0, b = s.size();
  while (a < b && is_space(s[a])) ++a;
  while (b > a && is_space(s[b - 1])) --b;
  return s.substr(a, b - a);
}

}  // namespace

Result<DomainSummary> summarize_domain_xml(std::string_view xml) {
  DomainSummary d;
  std::vector<Element> open;  // the path of open elements
  std::string text;           // text of the innermost element so far
  bool seen_domain = false;
  constexpr std::size_t kMaxDepth = 64;
  auto path_is = [&](std::initializer_list<std::string_view> names) {
    if (open.size() != names.size()) return false;
    std::size_t k = 0;
    for (std::string_view n : names)
      if (open[k++].name != n) return false;
    return true;
  };
  for (std::size_t i = 0; i < xml.size();) {
    if (xml[i] != '<') {
      const std::size_t next = xml.find('<', i);
      text += decode_entities(xml.substr(i, next == std::string_view::npos ? std::string_view::npos : next - i));
      i = next == std::string_view::npos ? xml.size() : next;
      continue;
    }
    if (xml.compare(i, 4, "<!--") == 0) {
      const std::size_t end = xml.find("-->", i + 4);
      if (end == std::string_view::npos) break;
      i = end + 3;
      continue;
    }
    if (xml.compare(i, 9, "<![CDATA[") == 0) {
      const std::size_t end = xml.find("]]>", i + 9);
      if (end == std::string_view::npos) break;
      text.append(xml.substr(i + 9, end - i - 9));
      i = end + 3;
      continue;
    }
    const std::size_t close = xml.find('>', i);
    if (close == std::string_view::npos)
      return make_error(ErrorCode::corrupt, i, "domain XML: a tag is not closed");
    std::string_view tag = xml.substr(i + 1, close - i - 1);
    i = close + 1;
    if (tag.empty() || tag[0] == '?' || tag[0] == '!') continue;
    if (tag[0] == '/') {
      if (open.empty()) return make_error(ErrorCode::corrupt, close, "domain XML: a closing tag without an opening one");
      const std::string value = trimmed(text);
      text.clear();
      const Element& e = open.back();
      if (path_is({"domain", "name"})) d.name = value;
      else if (path_is({"domain", "uuid"})) d.uuid = value;
      else if (path_is({"domain", "memory"})) d.memory_kib = to_kib(std::strtoull(value.c_str(), nullptr, 10), e.attribute("unit"));
      else if (path_is({"domain", "vcpu"})) d.vcpus = static_cast<std::uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
      else if (path_is({"domain", "devices", "emulator"})) d.emulator = value;
      open.pop_back();
      continue;
    }
    const bool self_closing = tag.back() == '/';
    if (self_closing) tag.remove_suffix(1);
    Element e;
    if (!parse_tag(tag, e)) return make_error(ErrorCode::corrupt, close, "domain XML: a malformed tag");
    text.clear();
    if (open.empty()) {
      if (e.name != "domain") return make_error(ErrorCode::corrupt, 0, "domain XML: the root element is <" + e.name + ">, not <domain>");
      seen_domain = true;
      d.type = e.attribute("type");
    }
    if (open.size() >= kMaxDepth) return make_error(ErrorCode::corrupt, close, "domain XML: nested too deep");
    open.push_back(std::move(e));
    const Element& cur = open.back();
    if (path_is({"domain", "os", "type"})) {
      d.arch = cur.attribute("arch");
      d.machine = cur.attribute("machine");
    } else if (path_is({"domain", "devices", "disk"})) {
      DomainDisk disk;
      disk.device = cur.attribute("device");
      disk.type = cur.attribute("type");
      d.disks.push_back(std::move(disk));
    } else if (!d.disks.empty() && open.size() == 4 && open[1].name == "devices" && open[2].name == "disk") {
      DomainDisk& disk = d.disks.back();
      if (cur.name == "source") {
        for (const char* key : {"file", "dev", "name", "volume"})
          if (std::string v = cur.attribute(key); !v.empty() && disk.source.empty()) disk.source = v;
      } else if (cur.name == "target") {
        disk.target = cur.attribute("dev");
      } else if (cur.name == "driver") {
        disk.format = cur.attribute("type");
      }
    }
    if (self_closing) open.pop_back();
  }
  if (!seen_domain) return make_error(ErrorCode::corrupt, 0, "domain XML: no <domain> element");
  return d;
}

}  // namespace migscope
