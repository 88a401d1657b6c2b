// report: one walk feeding the info collector, the machine facts, the page
// maps and the state JSON writer; then one HTML page (core/ops/report_page.html,
// embedded at build time) written under a temporary name and renamed into
// place when complete. Everything from the input reaches the page escaped:
// as XML text in the static part, as JSON strings (with '<' as \u003c, so no
// "</script" can end a script early) in the data the page's script renders.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include <unistd.h>
#include <zlib.h>

#include "guest/layout.h"
#include "guest/machine_facts.h"
#include "json/escape.h"
#include "json/py_writer.h"
#include "migscope/ops.h"
#include "migscope/version.h"
#include "ops/incomplete_save.h"
#include "sinks/info_report.h"
#include "sinks/output_dir.h"
#include "sinks/page_map.h"
#include "sinks/state_json.h"
#include "stream/format.h"

namespace migscope::ops {

namespace {

constexpr std::string_view kPage =
#include "ops/report_page.inc"
    ;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string num(std::uint64_t v) { return std::to_string(v); }

// 1536 -> "1.5 KiB"; exact byte counts stay beside it where they matter.
std::string human_bytes(std::uint64_t v) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double d = static_cast<double>(v);
  std::size_t u = 0;
  while (d >= 1024 && u + 1 < std::size(kUnits)) d /= 1024, ++u;
  char buf[48];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(v));
  else std::snprintf(buf, sizeof buf, "%.1f %s", d, kUnits[u]);
  std::string s = buf;
  if (const auto dot = s.find(".0 "); dot != std::string::npos) s.erase(dot, 2);  // "16.0 MiB" -> "16 MiB"
  return s;
}

void base64(std::string& out, const std::uint8_t* p, std::size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.reserve(out.size() + (n + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < n) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (i + 1 < n ? std::uint32_t{p[i + 1]} << 8 : 0);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
}

// zlib (RFC 1950) of `text`, base64: the page inflates it itself.
Result<std::string> deflate_base64(std::string_view text) {
  uLongf len = compressBound(static_cast<uLong>(text.size()));
  std::string packed(len, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &len, reinterpret_cast<const Bytef*>(text.data()),
                static_cast<uLong>(text.size()), 6) != Z_OK)
    return make_error(ErrorCode::io, Error::no_offset, "cannot compress the report's data");
  std::string out;
  base64(out, reinterpret_cast<const std::uint8_t*>(packed.data()), len);
  return out;
}

void html(std::string& out, std::string_view s) { json::append_xml_escaped(out, s); }

// A JSON string for a <script> element: '<' only occurs inside strings, where
// \u003c means the same, so no "</script" or "<!--" reaches the HTML parser.
void script_safe(std::string& out, std::string_view json) {
  for (char c : json) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
}

void jstr(std::string& out, std::string_view s) { json::append_json_string(out, s); }

class Page {
 public:
  void row(std::string_view key, std::string_view value) {
    text += "<tr><th>";
    html(text, key);
    text += "</th><td>";
    html(text, value);
    text += "</td></tr>\n";
  }
  std::string text;
};

std::string summary_html(const Dump& dump, const WalkSummary& sum, const InfoCollector& info,
                         const std::optional<GuestLayout>& layout) {
  Page p;
  const StreamLocation& loc = dump.location();
  p.text += "<table class=\"kv\">\n";
  if (const Qcow2Snapshot* sn = dump.snapshot())
    p.row("format", "qcow2 image, the VM state of snapshot " + sn->id + " '" + sn->name + "': stream v3 of " +
                        num(dump.size()) + " bytes (offsets below are in it)");
  else if (loc.compression == Compression::none)
    p.row("format", std::string(input_format_name(loc.format).data()) + " stream v3 at offset " + hex(loc.stream_offset));
  else
    p.row("format", std::string(input_format_name(loc.format).data()) + ", " + std::string(compression_name(loc.compression)) +
                        "-compressed from offset " + hex(loc.payload_offset) + ": stream v3 of " + num(dump.size()) +
                        " bytes (offsets below are in it)");
  p.row("input size", human_bytes(dump.input_size()) + " (" + num(dump.input_size()) + " bytes)");
  if (const LibvirtHeader* h = dump.libvirt())
    p.row("libvirt", "save image v" + num(h->version) + " (" + (h->big_endian ? "big" : "little") + "-endian), format " +
                         libvirt_format_name(h->format) + ", data_len " + num(h->data_len) + ", " +
                         (h->was_running ? "was running" : "was paused"));
  if (sum.configuration) {
    const Configuration& c = *sum.configuration;
    p.row("machine", std::string(c.machine));
    std::string caps;
    for (auto cap : c.capabilities) caps += (caps.empty() ? "" : ", ") + std::string(cap);
    p.row("capabilities", caps.empty() ? "none recorded (the stream records only x-ignore-shared and mapped-ram)" : caps);
    if (c.target_page_bits) p.row("target page bits", num(*c.target_page_bits));
    if (c.uuid) p.row("uuid", uuid_text(*c.uuid));
  } else {
    p.row("machine", "(no configuration section)");
  }
  p.row("page size", num(sum.page_size) + " (from " + sum.page_size_source + ")");
  p.row("footers", sum.footers ? "yes" : "no");
  if (sum.trailer_offset)
    p.row("vmdesc", "trailer at " + hex(*sum.trailer_offset) + ", " + num(sum.trailer_length) + " bytes, " +
                        num(dump.device_count()) + " devices" + (dump.vmdesc_from_file() ? " (decoded with the given file)" : ""));
  else
    p.row("vmdesc", dump.vmdesc() ? "from a file" : "none (device sections are shown as raw bytes)");
  p.row("EOF", sum.eof_offset ? "at " + hex(*sum.eof_offset) : std::string("none"));
  p.row("sections", num(info.sections.size()) + " (" + num(info.commands.size()) + " commands)");
  std::uint64_t ram = 0;
  for (const RamBlock& b : sum.ram_blocks) ram += b.length;
  p.row("RAM blocks", num(sum.ram_blocks.size()) + ", " + human_bytes(ram) + " in all");
  for (const Warning& w : sum.warnings) p.row("warning", "at " + hex(w.offset) + ": " + w.text);
  p.text += "</table>\n";
  if (layout && !layout->ranges.empty()) {
    p.text += "<h3>Guest-physical map</h3>\n<table class=\"grid\"><thead><tr><th>guest-physical</th><th>length</th><th>block</th><th>block offset</th></tr></thead><tbody>\n";
    for (const GuestRange& r : layout->ranges) {
      p.text += "<tr><td class=\"mono\">" + hex(r.paddr) + "&#8211;" + hex(r.paddr + r.length - 1) + "</td><td>" +
                human_bytes(r.length) + "</td><td class=\"mono\">";
      html(p.text, r.block);
      p.text += "</td><td class=\"mono\">" + hex(r.block_offset) + "</td></tr>\n";
    }
    p.text += "</tbody></table>\n";
    if (!layout->unplaced.empty()) {
      p.text += "<details class=\"note\"><summary>" + num(layout->unplaced.size()) + " block" +
                (layout->unplaced.size() == 1 ? "" : "s") + " not in the map</summary><ul>\n";
      for (const UnplacedBlock& b : layout->unplaced) {
        p.text += "<li><span class=\"mono\">";
        html(p.text, b.block);
        p.text += "</span> (" + human_bytes(b.length) + "): ";
        html(p.text, b.reason);
        p.text += "</li>\n";
      }
      p.text += "</ul></details>\n";
    }
  }
  return p.text;
}

std::string domain_html(const Dump& dump) {
  const LibvirtHeader* h = dump.libvirt();
  if (!h) return {};
  Page p;
  p.text += "<section id=\"domain\"><h2>Domain</h2>\n";
  auto d = summarize_domain_xml(h->xml);
  if (!d.ok()) {
    p.text += "<p class=\"note\">The domain XML does not parse: ";
    html(p.text, d.error().message());
    p.text += "</p>\n";
  } else {
    p.text += "<table class=\"kv\">\n";
    p.row("name", d->name);
    p.row("uuid", d->uuid);
    p.row("memory", human_bytes(d->memory_kib * 1024));
    p.row("vCPUs", num(d->vcpus));
    p.row("machine", d->machine + (d->arch.empty() ? "" : " (" + d->arch + ")"));
    p.row("type", d->type);
    if (!d->emulator.empty()) p.row("emulator", d->emulator);
    p.text += "</table>\n";
    if (!d->disks.empty()) {
      p.text += "<table class=\"grid\"><thead><tr><th>disk</th><th>device</th><th>type</th><th>format</th><th>source</th></tr></thead><tbody>\n";
      for (const DomainDisk& k : d->disks) {
        p.text += "<tr>";
        for (const std::string* s : {&k.target, &k.device, &k.type, &k.format, &k.source}) {
          p.text += "<td class=\"mono\">";
          html(p.text, *s);
          p.text += "</td>";
        }
        p.text += "</tr>\n";
      }
      p.text += "</tbody></table>\n";
    }
  }
  p.text += "<details><summary>domain XML as saved</summary><pre class=\"xml\">";
  html(p.text, h->xml);
  p.text += "</pre></details>\n</section>\n";
  return p.text;
}

std::string data_json(const Dump& dump, const WalkSummary& sum, const InfoCollector& info,
                      const std::vector<BlockPageMap>& maps, const ReportOptions& options) {
  std::string j = "{\"stream_size\":" + num(dump.size());
  j += ",\"stream_offset\":" + num(dump.location().stream_offset);
  j += ",\"trailer\":" + num(sum.trailer_offset ? sum.trailer_length + 5 : 0);  // 0x06, be32 length, JSON
  std::uint64_t command_bytes = 0;
  for (const CommandRecord& c : info.commands) command_bytes += 5 + c.length;  // 0x08, be16 cmd, be16 len
  j += ",\"command_bytes\":" + num(command_bytes);
  j += ",\"sections_total\":" + num(info.sections.size());
  // offset, size, type, kind, idstr, section id, instance, version, flags (1 decoded, 2 footer, 4 packaged)
  j += ",\"sections\":[";
  std::size_t n = 0;
  for (const SectionRecord& r : info.sections) {
    if (n == options.max_sections) break;
    if (n++) j += ',';
    j += '[' + num(r.offset) + ',' + num(r.size) + ',';
    std::string_view t = wire::section_type_name(r.type);
    if (t.rfind("SECTION_", 0) == 0) t.remove_prefix(8);
    jstr(j, t);
    j += ',';
    jstr(j, section_kind_name(r.kind));
    j += ',';
    jstr(j, r.idstr);
    j += ',' + num(r.id) + ',' + num(r.instance_id) + ',' + num(r.version_id) + ',' +
         num((r.decoded ? 1 : 0) | (r.has_footer ? 2 : 0) | (r.depth ? 4 : 0)) + ']';
  }
  // Per kind, over every section (not only the rows listed).
  j += "],\"kinds\":[";
  {
    std::vector<std::pair<std::string_view, std::pair<std::uint64_t, std::uint64_t>>> kinds;
    for (const SectionRecord& r : info.sections) {
      const std::string_view k = section_kind_name(r.kind);
      std::size_t i = 0;
      while (i < kinds.size() && kinds[i].first != k) ++i;
      if (i == kinds.size()) kinds.push_back({k, {0, 0}});
      kinds[i].second.first += r.size;
      ++kinds[i].second.second;
    }
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      if (i) j += ',';
      j += '[';
      jstr(j, kinds[i].first);
      j += ',' + num(kinds[i].second.first) + ',' + num(kinds[i].second.second) + ']';
    }
  }
  j += "],\"commands\":[";
  n = 0;
  for (const CommandRecord& c : info.commands) {
    if (n == options.max_sections) break;
    if (n++) j += ',';
    j += '[' + num(c.offset) + ',';
    jstr(j, wire::command_name(c.cmd));
    j += ',' + num(c.length) + ',';
    jstr(j, c.detail);
    j += ',' + num(c.depth) + ']';
  }
  j += "],\"classes\":[";
  for (std::size_t k = 0; k < kPageClasses; ++k) {
    if (k) j += ',';
    jstr(j, page_class_name(static_cast<PageClass>(k)));
  }
  j += "],\"blocks\":[";
  for (std::size_t i = 0; i < maps.size(); ++i) {
    const BlockPageMap& m = maps[i];
    const RamBlock* b = i < sum.ram_blocks.size() ? &sum.ram_blocks[i] : nullptr;
    const BlockPageStats st = i < info.block_stats.size() ? info.block_stats[i] : BlockPageStats{};
    if (i) j += ',';
    j += "{\"name\":";
    jstr(j, m.name);
    j += ",\"length\":" + num(m.length) + ",\"length_hex\":\"" + hex(m.length) + "\",\"page_size\":" + num(m.page_size) +
         ",\"pages\":" + num(m.pages) + ",\"per_cell\":" + num(m.pages_per_cell) + ",\"counts\":[";
    for (std::size_t k = 0; k < kPageClasses; ++k) {
      if (k) j += ',';
      j += num(m.pages_by_class[k]);
    }
    j += "],\"records\":{";
    for (std::size_t k = 0; k < kPageKinds; ++k) {
      if (k) j += ',';
      jstr(j, page_kind_name(static_cast<PageKind>(k)));
      j += ':' + num(st.records[k]);
    }
    j += "},\"payload\":" + num(st.payload_bytes) + ",\"nonzero_fill\":" + num(st.nonzero_fill);
    if (b && b->guest_addr) j += ",\"gpa\":\"" + hex(*b->guest_addr) + '"';
    if (b && b->page_size) j += ",\"host_page_size\":" + num(b->page_size);
    if (b && b->mapped_ram) j += ",\"mapped_ram\":true";
    j += ",\"cells\":\"";
    base64(j, m.cells.data(), m.cells.size());
    j += "\"}";
  }
  j += "]}";
  return j;
}

// The template with each <!--@name--> replaced by its part.
Result<std::string> fill(std::string_view page, std::initializer_list<std::pair<std::string_view, const std::string*>> parts) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    const std::size_t m = page.find("<!--@", at);
    if (m == std::string_view::npos) break;
    const std::size_t e = page.find("-->", m);
    if (e == std::string_view::npos) break;
    out.append(page.substr(at, m - at));
    const std::string_view name = page.substr(m + 5, e - m - 5);
    const std::string* part = nullptr;
    for (const auto& [k, v] : parts)
      if (k == name) part = v;
    if (!part) return make_error(ErrorCode::unsupported, Error::no_offset, "report template: no part named " + std::string(name));
    out += *part;
    at = e + 3;
  }
  out.append(page.substr(at));
  return out;
}

Status write_all(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    const ssize_t w = ::write(fd, text.data(), text.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return make_error(ErrorCode::io, Error::no_offset, "cannot write " + path + ": " + std::strerror(errno));
    text.remove_prefix(static_cast<std::size_t>(w));
  }
  return {};
}

}  // namespace

Result<HtmlReport> report(const Dump& dump, const ReportOptions& options) {
  if (auto refused = refuse_incomplete_save(dump, /*can_keep_going=*/false)) return *refused;
  // Refused before reading anything when the output exists (and no force).
  MIGSCOPE_ASSIGN(OutputFile out, open_output_file(options.output, options.force));

  InfoCollector info;
  guest::MachineFactsCollector facts;
  PageMapCollector pages(options.max_cells);
  std::string state;
  WalkSummary summary;
  {
    json::OutBuffer state_out(&state);
    json::PyWriter w(state_out);
    StateJsonSink state_sink(w);
    StreamFanout all({&info, &facts, &pages, &state_sink});
    WalkOptions walk;
    walk.page_size = options.page_size;
    walk.release_behind = true;  // a Dump is a read-only mapping
    walk.prefetch_threads = options.helper_threads;
    walk.read_once = true;  // counts and the state text are kept, never bytes
    state_sink.begin();
    MIGSCOPE_ASSIGN(summary, dump.walk(all, walk));
    state_sink.finish();
  }
  std::optional<GuestLayout> layout;
  if (auto l = guest::compute_layout(facts.facts(), {}); l.ok()) layout = std::move(l).value();

  HtmlReport result;
  result.blocks = pages.maps();
  result.sections = info.sections.size();

  const std::string title = options.title.empty() ? dump.path() : options.title;
  std::string title_html;
  html(title_html, title);
  const std::string version = MIGSCOPE_VERSION;
  const std::string summary_part = summary_html(dump, summary, info, layout);
  const std::string domain_part = domain_html(dump);
  std::string data_part;
  script_safe(data_part, data_json(dump, summary, info, result.blocks, options));
  MIGSCOPE_ASSIGN(const std::string state_part, deflate_base64(state));
  std::string state_size = num(state.size());
  state.clear();
  state.shrink_to_fit();
  MIGSCOPE_ASSIGN(const std::string page, fill(kPage, {{"title", &title_html},
                                                       {"version", &version},
                                                       {"summary", &summary_part},
                                                       {"domain", &domain_part},
                                                       {"data", &data_part},
                                                       {"state", &state_part},
                                                       {"state_size", &state_size}}));
  MIGSCOPE_TRY(write_all(out.fd, page, options.output));
  MIGSCOPE_TRY(out.dir.commit());
  result.html_bytes = page.size();
  result.summary = std::move(summary);
  return result;
}

}  // namespace migscope::ops
