#include "migscope/compat.h"

#include <map>
#include <vector>

#include "json/escape.h"
#include "json/json_util.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

namespace migscope::compat {

using json::append_json_string;
using json::append_xml_escaped;

Result<Baseline> parse_baseline(std::string_view json) {
  rapidjson::Document doc;
  MIGSCOPE_TRY(json::parse(json, doc, "baseline"));
  json::PathStep root;
  MIGSCOPE_TRY(json::expect_object(doc, root));
  Baseline b;
  if (const auto* findings = json::member(doc, "findings")) {
    json::PathStep fat = root.member("findings");
    MIGSCOPE_TRY(json::expect_array(*findings, fat));
    for (rapidjson::SizeType i = 0; i < findings->Size(); ++i) {
      json::PathStep at = fat.element(i);
      MIGSCOPE_TRY(json::expect_object((*findings)[i], at));
      const auto* id = json::member((*findings)[i], "id");
      if (id == nullptr) return json::path_error(at, "missing key \"id\"");
      MIGSCOPE_ASSIGN(auto s, json::get_string(*id, at.member("id")));
      b.ids.insert(std::move(s));
    }
  }
  if (const auto* ids = json::member(doc, "ids")) {
    json::PathStep iat = root.member("ids");
    MIGSCOPE_TRY(json::expect_array(*ids, iat));
    for (rapidjson::SizeType i = 0; i < ids->Size(); ++i) {
      MIGSCOPE_ASSIGN(auto s, json::get_string((*ids)[i], iat.element(i)));
      b.ids.insert(std::move(s));
    }
  }
  if (json::member(doc, "findings") == nullptr && json::member(doc, "ids") == nullptr)
    return json::path_error(root, "expected a \"findings\" or \"ids\" array");
  return b;
}

std::string write_baseline(const CheckReport& report) {
  // Sorted by id and deduplicated, so a re-recorded baseline diffs cleanly.
  std::map<std::string, const Finding*> by_id;
  for (const auto& f : report.findings) by_id.emplace(f.id, &f);
  std::string out = "{\n  \"schema\": \"migscope-baseline/1\",\n  \"findings\": [";
  bool first = true;
  for (const auto& [id, f] : by_id) {
    out += first ? "\n" : ",\n";
    first = false;
    out += "    {\"id\": ";
    append_json_string(out, id);
    out += ", \"kind\": ";
    append_json_string(out, finding_kind_name(f->kind));
    out += ", \"message\": ";
    append_json_string(out, f->message);
    out += '}';
  }
  out += first ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

bool is_baselined(const Finding& f, const ReportOptions& opts) {
  return opts.baseline != nullptr && opts.baseline->contains(f.id);
}

bool is_failing(const Finding& f, const ReportOptions& opts) {
  return !is_baselined(f, opts) && f.severity >= opts.fail_on;
}

Summary summarize(const CheckReport& report, const ReportOptions& opts) {
  Summary s;
  for (const auto& f : report.findings) {
    ++s.total;
    ++s.by_severity[static_cast<std::size_t>(f.severity)];
    if (is_baselined(f, opts)) ++s.baselined;
    if (is_failing(f, opts)) ++s.failing;
  }
  return s;
}

std::string summary_line(const CheckReport& report, const ReportOptions& opts) {
  Summary s = summarize(report, opts);
  std::string out = "migscope check: " + std::to_string(s.total) + (s.total == 1 ? " finding" : " findings") + " (" +
                    std::to_string(s.by_severity[2]) + " error, " + std::to_string(s.by_severity[1]) + " warning, " +
                    std::to_string(s.by_severity[0]) + " info), " + std::to_string(s.baselined) + " baselined, " +
                    std::to_string(s.failing) + " failing at " + (opts.fail_on_name.empty() ? "" : opts.fail_on_name + " ") +
                    std::string(severity_name(opts.fail_on)) +
                    ": " + (s.failing ? "FAIL" : "PASS");
  return out;
}

std::string render_text(const CheckReport& report, const ReportOptions& opts) {
  std::string out;
  for (const auto& f : report.findings) {
    out += severity_name(f.severity);
    out += ": ";
    out += f.message;
    out += " [";
    out += finding_kind_name(f.kind);
    out += ' ';
    out += f.id;
    out += is_baselined(f, opts) ? ", baselined]\n" : "]\n";
  }
  for (const auto& u : report.undecided) out += "undecided: " + u + "\n";
  out += summary_line(report, opts);
  out += '\n';
  if (report.load_check) out += "verdict: " + load_verdict(report) + "\n";
  return out;
}

std::string load_verdict(const CheckReport& report) {
  std::size_t reasons = 0;
  for (const auto& f : report.findings)
    if (f.severity == Severity::error) ++reasons;
  if (reasons == 0) return "would load";
  return "would fail to load: " + std::to_string(reasons) + (reasons == 1 ? " reason" : " reasons");
}


std::string render_json(const CheckReport& report, const ReportOptions& opts) {
  // One key per line, two-space indentation, no trailing blanks.
  Summary s = summarize(report, opts);
  rapidjson::StringBuffer sb;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
  w.SetIndent(' ', 2);
  auto str = [&w](std::string_view k, std::string_view v) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  };
  auto num = [&w](std::string_view k, std::uint64_t v) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    w.Uint64(v);
  };
  auto boolean = [&w](std::string_view k, bool v) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    w.Bool(v);
  };
  w.StartObject();
  str("schema", "migscope-check/1");
  str("src", opts.src_name);
  str("dest", opts.dest_name);
  boolean("reverse", opts.reverse);
  str("src_machine", report.src_machine);
  str("dest_machine", report.dest_machine);
  str("fail_on", severity_name(opts.fail_on));
  w.Key("findings");
  w.StartArray();
  for (const auto& f : report.findings) {
    w.StartObject();
    str("id", f.id);
    str("kind", finding_kind_name(f.kind));
    str("severity", severity_name(f.severity));
    str("section", f.section);
    str("description", f.description);
    str("path", f.path);
    str("field", f.field);
    str("src", f.src);
    str("dest", f.dest);
    str("message", f.message);
    if (report.load_check) {
      str("qemu_error", f.qemu_error);
      w.Key("offset");
      if (f.offset == ~std::uint64_t{0}) w.Null();
      else w.Uint64(f.offset);
    }
    boolean("upstream", is_upstream_kind(f.kind));
    boolean("baselined", is_baselined(f, opts));
    boolean("failing", is_failing(f, opts));
    w.EndObject();
  }
  w.EndArray();
  if (report.load_check) {
    str("verdict", load_verdict(report));
    w.Key("undecided");
    w.StartArray();
    for (const auto& u : report.undecided) w.String(u.data(), static_cast<rapidjson::SizeType>(u.size()));
    w.EndArray();
  }
  w.Key("summary");
  w.StartObject();
  num("total", s.total);
  num("error", s.by_severity[2]);
  num("warning", s.by_severity[1]);
  num("info", s.by_severity[0]);
  num("baselined", s.baselined);
  num("failing", s.failing);
  num("upstream_exit_status", static_cast<std::uint64_t>(report.upstream_exit_status()));
  str("line", summary_line(report, opts));
  w.EndObject();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

std::string render_junit(const CheckReport& report, const ReportOptions& opts) {
  // Group findings by section, in the order sections were checked; findings
  // not tied to a checked section (machine type, page size) get their own case.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Finding*>> by_section;
  for (const auto& sec : report.sections)
    if (by_section.emplace(sec, std::vector<const Finding*>{}).second) order.push_back(sec);
  for (const auto& f : report.findings) {
    auto [it, inserted] = by_section.emplace(f.section, std::vector<const Finding*>{});
    if (inserted) order.push_back(f.section);
    it->second.push_back(&f);
  }
  std::size_t failures = 0, skipped = 0;
  for (const auto& sec : order) {
    bool fail = false, all_baselined = true, any = false;
    for (const Finding* f : by_section[sec]) {
      fail = fail || is_failing(*f, opts);
      if (f->severity >= opts.fail_on) {
        any = true;
        all_baselined = all_baselined && is_baselined(*f, opts);
      }
    }
    if (fail) ++failures;
    else if (any && all_baselined) ++skipped;
  }
  std::string suite = opts.src_name + " -> " + opts.dest_name + (opts.reverse ? " (reverse)" : "");
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"migscope check\" tests=\"";
  out += std::to_string(order.size()) + "\" failures=\"" + std::to_string(failures) + "\" errors=\"0\" skipped=\"" +
         std::to_string(skipped) + "\">\n  <testsuite name=\"";
  append_xml_escaped(out, suite);
  out += "\" tests=\"" + std::to_string(order.size()) + "\" failures=\"" + std::to_string(failures) +
         "\" errors=\"0\" skipped=\"" + std::to_string(skipped) + "\">\n";
  out += "    <properties>\n      <property name=\"summary\" value=\"";
  append_xml_escaped(out, summary_line(report, opts));
  out += "\"/>\n    </properties>\n";
  for (const auto& sec : order) {
    const auto& list = by_section[sec];
    out += "    <testcase classname=\"vmstate\" name=\"";
    append_xml_escaped(out, sec);
    out += '"';
    if (list.empty()) {
      out += "/>\n";
      continue;
    }
    out += ">\n";
    std::string failing_text, other_text;
    std::size_t nfail = 0, nbase = 0;
    const Finding* first_fail = nullptr;
    for (const Finding* f : list) {
      std::string line = std::string(severity_name(f->severity)) + ": " + f->message + " [" +
                         std::string(finding_kind_name(f->kind)) + " " + f->id + "]\n";
      if (is_failing(*f, opts)) {
        ++nfail;
        if (first_fail == nullptr) first_fail = f;
        failing_text += line;
      } else {
        if (is_baselined(*f, opts) && f->severity >= opts.fail_on) ++nbase;
        other_text += line;
      }
    }
    if (first_fail != nullptr) {
      out += "      <failure type=\"";
      append_xml_escaped(out, finding_kind_name(first_fail->kind));
      out += "\" message=\"";
      append_xml_escaped(out, nfail == 1 ? first_fail->message : std::to_string(nfail) + " findings, first: " + first_fail->message);
      out += "\">";
      append_xml_escaped(out, failing_text);
      out += "</failure>\n";
    } else if (nbase > 0) {
      out += "      <skipped message=\"";
      append_xml_escaped(out, std::to_string(nbase) + " known finding(s) in the baseline");
      out += "\"/>\n";
    }
    if (!other_text.empty()) {
      out += "      <system-out>";
      append_xml_escaped(out, other_text);
      out += "</system-out>\n";
    }
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace migscope::compat
