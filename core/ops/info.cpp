// info: one walk, every section, command and page record counted.
#include "guest/layout.h"
#include "guest/machine_facts.h"
#include "migscope/ops.h"
#include "ops/incomplete_save.h"
#include "sinks/info_report.h"

namespace migscope::ops {

InfoReport info(const Dump& dump, const InfoOptions& options) {
  InfoCollector collector;
  WalkOptions walk;
  walk.page_size = options.page_size;
  walk.release_behind = true;  // a Dump is a read-only mapping
  walk.prefetch_threads = options.helper_threads;
  walk.read_once = true;  // the collector keeps counts, never bytes
  guest::MachineFactsCollector facts;
  StreamFanout both({&collector, &facts});
  InfoReport report;
  auto summary = dump.walk(both, walk, &report.summary);
  if (summary.ok()) report.summary = std::move(summary).value();
  else report.damage = std::move(summary).error();
  if (is_incomplete_save(dump)) {
    // What it holds is reported; the save is named incomplete all the same.
    report.damage = incomplete_save_read(report.damage ? &*report.damage : nullptr);
    report.damage->remedy = Remedy::keep_going;
  }
  if (!report.damage) {
    auto layout = guest::compute_layout(facts.facts(), {});
    if (layout.ok()) report.layout = std::move(layout).value();
    else report.layout_error = layout.error().detail;
  }
  report.sections = std::move(collector.sections);
  report.commands = std::move(collector.commands);
  report.block_stats = std::move(collector.block_stats);
  return report;
}

}  // namespace migscope::ops
