// Reports over a CheckReport: severities against --fail-on, baselines of known
// findings (by stable id), a one-line summary, and text / JSON / JUnit XML
// renderings. Everything returns strings; printing is the tools' business.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>

#include "compat/checker.h"

namespace migscope::compat {

/// Known findings to ignore, by stable id.
struct Baseline {
  std::unordered_set<std::string> ids;
  bool contains(const std::string& id) const { return ids.count(id) != 0; }
};

/// Parse {"schema": "migscope-baseline/1", "findings": [{"id": "...", ...}, ...]};
/// a bare {"ids": ["...", ...]} is accepted too.
Result<Baseline> parse_baseline(std::string_view json);
/// A baseline recording every finding of `report` (ids plus kind and message for review).
std::string write_baseline(const CheckReport& report);

struct ReportOptions {
  std::string src_name;   ///< as given on the command line
  std::string dest_name;
  bool reverse = false;
  Severity fail_on = Severity::warning;  ///< findings at or above it fail (unless baselined)
  const Baseline* baseline = nullptr;
};

struct Summary {
  std::size_t total = 0;
  std::array<std::size_t, 3> by_severity{};  ///< indexed by Severity
  std::size_t baselined = 0;
  std::size_t failing = 0;  ///< not baselined and at or above fail_on
};

bool is_baselined(const Finding& f, const ReportOptions& opts);
bool is_failing(const Finding& f, const ReportOptions& opts);
Summary summarize(const CheckReport& report, const ReportOptions& opts);
/// "migscope check: 14 findings (9 error, 4 warning, 1 info), 0 baselined, 13 failing at --fail-on warning: FAIL"
std::string summary_line(const CheckReport& report, const ReportOptions& opts);

/// One line per finding ("error: <message> [<kind> <id>]"), then the summary line.
std::string render_text(const CheckReport& report, const ReportOptions& opts);
/// {"schema": "migscope-check/1", "src", "dest", "reverse", "fail_on", "findings": [...], "summary": {...}}
std::string render_json(const CheckReport& report, const ReportOptions& opts);
/// JUnit XML: one <testcase> per src section; failing findings as <failure>,
/// baselined ones as <skipped>, the rest in <system-out>.
std::string render_junit(const CheckReport& report, const ReportOptions& opts);

}  // namespace migscope::compat
