// libFuzzer target: the vmstate checker's JSON input. Input: two documents
// (-dump-vmstate or vmdesc) separated by a NUL byte. Both are parsed with
// every entry point; when both parse, the checker runs in both directions and
// every report format is rendered; the baseline written from the report must
// parse back and cover every finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "migscope/compat.h"
#include "fuzz_common.h"

using namespace migscope;
using namespace migscope::compat;

namespace {

void check_parse_error(const Error& e, std::size_t size) {
  fuzz::check_error(e, size, {ErrorCode::invalid_json, ErrorCode::corrupt, ErrorCode::unsupported});
}

void render_all(const CheckReport& report, bool reverse) {
  (void)report.upstream_output();
  int st = report.upstream_exit_status();
  if (st < 0 || st > 255) std::abort();
  for (Severity fail_on : {Severity::info, Severity::warning, Severity::error}) {
    ReportOptions opts;
    opts.src_name = "src.json";
    opts.dest_name = "dest.json";
    opts.reverse = reverse;
    opts.fail_on = fail_on;
    (void)summary_line(report, opts);
    (void)render_text(report, opts);
    (void)render_json(report, opts);
    (void)render_junit(report, opts);
  }
  std::string written = write_baseline(report);
  auto baseline = parse_baseline(written);
  if (!baseline.ok()) {
    std::fprintf(stderr, "write_baseline output does not parse: %s\n", baseline.error().message().c_str());
    std::abort();
  }
  ReportOptions opts;
  opts.baseline = &baseline.value();
  Summary s = summarize(report, opts);
  if (s.failing != 0 || s.baselined != report.findings.size()) {
    std::fprintf(stderr, "a baseline of every finding leaves %zu failing, %zu/%zu baselined\n", s.failing, s.baselined,
                 report.findings.size());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const RenameTable renames = [] {
    auto r = builtin_renames();
    if (!r.ok()) std::abort();
    return std::move(r).value();
  }();
  const char* text = reinterpret_cast<const char*>(data);
  const char* nul = size ? static_cast<const char*>(std::memchr(text, 0, size)) : nullptr;
  std::string_view src(text, nul ? static_cast<std::size_t>(nul - text) : size);
  std::string_view dest = nul ? std::string_view(nul + 1, size - src.size() - 1) : src;

  // Every parser over the first document; the rename and baseline parsers too.
  if (auto r = parse_vmstate_dump(src); !r.ok()) check_parse_error(r.error(), src.size());
  if (auto r = parse_vmdesc(src); !r.ok()) check_parse_error(r.error(), src.size());
  if (auto r = parse_renames(src); !r.ok()) check_parse_error(r.error(), src.size());
  if (auto r = parse_baseline(src); !r.ok()) check_parse_error(r.error(), src.size());

  auto a = parse_vmstate_any(src);
  if (!a.ok()) {
    check_parse_error(a.error(), src.size());
    return 0;
  }
  auto b = parse_vmstate_any(dest);
  if (!b.ok()) {
    check_parse_error(b.error(), dest.size());
    return 0;
  }
  render_all(check_vmstate(a.value(), b.value(), renames), false);
  render_all(check_vmstate(b.value(), a.value(), renames), true);
  if (a->origin == VmstateDump::Origin::vmdesc && b->origin == VmstateDump::Origin::vmdesc) {
    auto cmp = compare_vmdesc(src, dest, renames);
    if (!cmp.ok())
      check_parse_error(cmp.error(), size);
    else
      render_all(cmp.value(), false);
  }
  return 0;
}
