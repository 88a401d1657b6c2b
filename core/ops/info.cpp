// info: one walk, every section, command and page record counted.
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
  InfoReport report;
  auto summary = dump.walk(collector, walk, &report.summary);
  if (summary.ok()) report.summary = std::move(summary).value();
  else report.damage = std::move(summary).error();
  if (is_incomplete_save(dump)) {
    // What it holds is reported; the save is named incomplete all the same.
    report.damage = incomplete_save_read(report.damage ? &*report.damage : nullptr);
    report.damage->remedy = Remedy::keep_going;
  }
  report.sections = std::move(collector.sections);
  report.commands = std::move(collector.commands);
  report.block_stats = std::move(collector.block_stats);
  return report;
}

}  // namespace migscope::ops
