// info: one walk, every section, command and page record counted.
#include "migscope/ops.h"
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
  report.sections = std::move(collector.sections);
  report.commands = std::move(collector.commands);
  report.block_stats = std::move(collector.block_stats);
  return report;
}

}  // namespace migscope::ops
