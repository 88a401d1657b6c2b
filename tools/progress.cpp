#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace migscope::tools {

ChattinessFlags& chattiness() {
  static ChattinessFlags flags;
  return flags;
}

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char out[32];
  std::snprintf(out, sizeof out, u == 0 ? "%.0f %s" : "%.2f %s", b, units[u]);
  return out;
}

}  // namespace

ProgressMeter::ProgressMeter(std::vector<const Dump*> dumps, std::string label)
    : dumps_(std::move(dumps)), label_(std::move(label)) {
  const ChattinessFlags& f = chattiness();
  active_ = !f.quiet && (f.progress || ::isatty(STDERR_FILENO) == 1);
  if (!active_) return;
  started_ = now_seconds();
  thread_ = std::thread([this] { run(); });
}

ProgressMeter::~ProgressMeter() {
  if (!active_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (drawn_) {
    std::fputs("\r\033[K", stderr);  // erased: what follows on stderr starts on a clean line
    std::fflush(stderr);
  }
}

void ProgressMeter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    draw();
    // A few times a second: more would only cost the terminal.
    if (wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_; })) return;
  }
}

void ProgressMeter::draw() {
  std::uint64_t done = 0, total = 0;
  for (const Dump* d : dumps_) {
    const Progress p = d->progress();
    done += std::min(p.done, p.total);
    total += p.total;
  }
  const double elapsed = now_seconds() - started_;
  std::string line = "\r\033[K" + label_ + ": ";
  char buf[96];
  if (total > 0) {
    std::snprintf(buf, sizeof buf, "%3.0f%% ", 100.0 * static_cast<double>(done) / static_cast<double>(total));
    line += buf;
  }
  line += human_bytes(static_cast<double>(done)) + " of " + human_bytes(static_cast<double>(total));
  if (elapsed > 0.5 && done > 0) {
    const double rate = static_cast<double>(done) / elapsed;
    std::snprintf(buf, sizeof buf, ", %s/s", human_bytes(rate).c_str());
    line += buf;
    if (total > done) {
      const double left = static_cast<double>(total - done) / rate;
      std::snprintf(buf, sizeof buf, ", %d:%02d left", static_cast<int>(left) / 60, static_cast<int>(left) % 60);
      line += buf;
    }
  }
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace migscope::tools
