// Progress on a terminal: bytes and percent of the input, rate and time left,
// on stderr, a few times a second, erased when done. Only when stderr is a
// terminal (or --progress), never with --quiet, never on stdout.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "migscope/stream.h"

namespace migscope::tools {

/// --progress / --quiet as parsed (common options of every subcommand).
struct ChattinessFlags {
  bool progress = false;  ///< draw progress even when stderr is not a terminal
  bool quiet = false;     ///< no progress, no notes or warnings (errors still print)
};
ChattinessFlags& chattiness();

/// Draws the progress of the walks of `dumps` (summed) while it lives.
class ProgressMeter {
 public:
  ProgressMeter(std::vector<const Dump*> dumps, std::string label);
  ~ProgressMeter();
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

 private:
  void run();
  void draw();

  std::vector<const Dump*> dumps_;
  std::string label_;
  bool active_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
  double started_ = 0;
  bool drawn_ = false;
};

}  // namespace migscope::tools
