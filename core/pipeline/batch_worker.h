// A second thread for work handed over batch by batch from the walking
// thread (double buffering: the walker fills the next batch while the worker
// processes the previous one). Without threads, batches are processed inline.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "migscope/error.h"

namespace migscope {

template <typename Batch>
class BatchWorker {
 public:
  using Process = std::function<Status(Batch&)>;

  BatchWorker(Process process, bool threaded) : process_(std::move(process)), threaded_(threaded) {
    if (threaded_) thread_ = std::thread([this] { loop(); });
  }
  ~BatchWorker() { (void)finish(); }
  BatchWorker(const BatchWorker&) = delete;
  BatchWorker& operator=(const BatchWorker&) = delete;

  /// Give `filling` (which reads the input up to file offset `end`) to the
  /// worker and get back the batch it processed before (the caller clears it)
  /// to fill next. Returns the offset up
  /// to which the input is no longer needed (the end of the batch processed
  /// before), or the first processing error.
  Result<std::uint64_t> hand_over(Batch& filling, std::uint64_t end) {
    if (!threaded_) {
      // As with a thread: the first error sticks, and nothing after it is processed.
      if (status_.ok()) status_ = process_(filling);
      if (!status_.ok()) return status_.error();
      return end;
    }
    std::uint64_t done;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !busy_; });
      if (!status_.ok()) return status_.error();
      done = working_end_;
      std::swap(filling, working_);
      working_end_ = end;
      busy_ = true;
    }
    cv_.notify_all();
    return done;
  }

  /// Wait until the worker has processed everything handed over.
  Status wait_idle() {
    if (!threaded_) return status_;
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !busy_; });
    return status_;
  }

  /// Wait for the last batch and stop the thread; the first error, if any.
  Status finish() {
    if (threaded_ && thread_.joinable()) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !busy_; });
        stop_ = true;
      }
      cv_.notify_all();
      thread_.join();
    }
    return status_;
  }

 private:
  void loop() {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return busy_ || stop_; });
        if (!busy_) return;
      }
      Status st = status_.ok() ? process_(working_) : Status{};
      {
        std::lock_guard lock(mu_);
        if (!st.ok() && status_.ok()) status_ = std::move(st);
        busy_ = false;
      }
      cv_.notify_all();
    }
  }

  Process process_;
  bool threaded_;
  Batch working_{};
  std::uint64_t working_end_ = 0;
  bool busy_ = false, stop_ = false;
  Status status_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace migscope
