// The double-buffering worker: with and without its thread every batch
// handed over is processed once, in order; hand_over reports how far the
// input is done with; a processing error comes back from a later call and
// stops the processing; destruction without finish() waits for the work.
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/batch_worker.h"

namespace migscope {
namespace {

struct Batch {
  std::vector<int> items;
};

// What the process function saw, guarded: it runs on the worker thread.
struct Log {
  std::mutex mu;
  std::vector<int> items;
  int calls = 0;
  void add(const Batch& b) {
    std::lock_guard lock(mu);
    ++calls;
    items.insert(items.end(), b.items.begin(), b.items.end());
  }
  std::vector<int> snapshot() {
    std::lock_guard lock(mu);
    return items;
  }
};

std::vector<int> iota(int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

// Hand over batches of 3 items each, numbered consecutively.
void fill(Batch& b, int first) {
  b.items.clear();
  for (int k = 0; k < 3; ++k) b.items.push_back(first + k);
}

TEST(BatchWorker, EveryBatchIsProcessedOnceInOrder) {
  for (bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "threaded" : "inline");
    Log log;
    BatchWorker<Batch> worker(
        [&](Batch& b) {
          log.add(b);
          return Status{};
        },
        threaded);
    Batch filling;
    for (int i = 0; i < 200; ++i) {
      fill(filling, 3 * i);
      auto r = worker.hand_over(filling, static_cast<std::uint64_t>(i + 1));
      ASSERT_TRUE(r.ok()) << r.error().message();
    }
    ASSERT_TRUE(worker.finish().ok());
    EXPECT_EQ(log.calls, 200);
    EXPECT_EQ(log.snapshot(), iota(600));
    // finish() twice is harmless.
    EXPECT_TRUE(worker.finish().ok());
  }
}

TEST(BatchWorker, HandOverReturnsHowFarTheInputIsDone) {
  // Threaded: the end of the batch processed before (0 before any).
  {
    BatchWorker<Batch> worker([](Batch&) { return Status{}; }, true);
    Batch b;
    std::uint64_t previous = 0;
    for (std::uint64_t end : {100u, 250u, 251u, 4096u, 10000u}) {
      auto r = worker.hand_over(b, end);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(*r, previous);
      previous = end;
    }
    EXPECT_TRUE(worker.finish().ok());
  }
  // Inline: the batch itself is processed, so its own end.
  {
    BatchWorker<Batch> worker([](Batch&) { return Status{}; }, false);
    Batch b;
    for (std::uint64_t end : {100u, 250u, 251u, 4096u}) {
      auto r = worker.hand_over(b, end);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(*r, end);
    }
  }
}

TEST(BatchWorker, WaitIdleMeansEverythingHandedOverWasProcessed) {
  Log log;
  BatchWorker<Batch> worker(
      [&](Batch& b) {
        log.add(b);
        return Status{};
      },
      true);
  Batch b;
  for (int i = 0; i < 20; ++i) {
    fill(b, 3 * i);
    ASSERT_TRUE(worker.hand_over(b, 0).ok());
    ASSERT_TRUE(worker.wait_idle().ok());
    EXPECT_EQ(log.snapshot(), iota(3 * (i + 1)));
  }
}

TEST(BatchWorker, ThreadedErrorComesBackLaterAndStopsTheWork) {
  Log log;
  BatchWorker<Batch> worker(
      [&](Batch& b) -> Status {
        log.add(b);
        if (b.items.front() == 9) return make_error(ErrorCode::io, 42, "disk full at batch 3");
        return {};
      },
      true);
  Batch b;
  for (int i = 0; i < 4; ++i) {
    fill(b, 3 * i);
    ASSERT_TRUE(worker.hand_over(b, 0).ok()) << i;  // batch 3 fails on the worker
  }
  // The next hand-over waits for batch 3 and reports its error; it hands nothing over.
  fill(b, 12);
  auto r = worker.hand_over(b, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::io);
  EXPECT_EQ(r.error().offset, 42u);
  EXPECT_EQ(r.error().detail, "disk full at batch 3");
  fill(b, 15);
  EXPECT_FALSE(worker.hand_over(b, 0).ok());
  Status idle = worker.wait_idle();
  ASSERT_FALSE(idle.ok());
  EXPECT_EQ(idle.error().detail, "disk full at batch 3");
  Status fin = worker.finish();
  ASSERT_FALSE(fin.ok());
  EXPECT_EQ(fin.error().detail, "disk full at batch 3");
  EXPECT_EQ(log.calls, 4);
  EXPECT_EQ(log.snapshot(), iota(12));
}

TEST(BatchWorker, ThreadedErrorIsReportedByWaitIdleAndFinish) {
  BatchWorker<Batch> worker(
      [](Batch& b) -> Status { return make_error(ErrorCode::io, static_cast<std::uint64_t>(b.items.front()), "failed"); },
      true);
  Batch b;
  fill(b, 7);
  ASSERT_TRUE(worker.hand_over(b, 0).ok());
  Status idle = worker.wait_idle();
  ASSERT_FALSE(idle.ok());
  EXPECT_EQ(idle.error().offset, 7u);
  Status fin = worker.finish();
  ASSERT_FALSE(fin.ok());
  EXPECT_EQ(fin.error().offset, 7u);
}

TEST(BatchWorker, InlineErrorIsReturnedByItsOwnHandOver) {
  Log log;
  BatchWorker<Batch> worker(
      [&](Batch& b) -> Status {
        log.add(b);
        if (b.items.front() == 3) return make_error(ErrorCode::io, 5, "failed inline");
        return {};
      },
      false);
  Batch b;
  fill(b, 0);
  ASSERT_TRUE(worker.hand_over(b, 10).ok());
  fill(b, 3);
  auto r = worker.hand_over(b, 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail, "failed inline");
  EXPECT_EQ(log.snapshot(), iota(6));
  // As with a thread, the error sticks: nothing after it is processed, and
  // wait_idle and finish report it.
  fill(b, 6);
  auto after = worker.hand_over(b, 30);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().detail, "failed inline");
  EXPECT_EQ(log.snapshot(), iota(6));
  Status idle = worker.wait_idle();
  ASSERT_FALSE(idle.ok());
  EXPECT_EQ(idle.error().offset, 5u);
  Status fin = worker.finish();
  ASSERT_FALSE(fin.ok());
  EXPECT_EQ(fin.error().detail, "failed inline");
}

TEST(BatchWorker, DestructionWithoutFinishWaitsForTheWork) {
  Log log;
  {
    BatchWorker<Batch> worker(
        [&](Batch& b) {
          log.add(b);
          return Status{};
        },
        true);
    Batch b;
    for (int i = 0; i < 50; ++i) {
      fill(b, 3 * i);
      ASSERT_TRUE(worker.hand_over(b, 0).ok());
    }
  }  // the last batch may still be on the worker here
  EXPECT_EQ(log.calls, 50);
  EXPECT_EQ(log.snapshot(), iota(150));
  // Never used, or failed: destruction is just as safe.
  { BatchWorker<Batch> idle([](Batch&) { return Status{}; }, true); }
  {
    BatchWorker<Batch> failing([](Batch&) { return make_error(ErrorCode::io, 0, "x"); }, true);
    Batch b;
    fill(b, 0);
    ASSERT_TRUE(failing.hand_over(b, 0).ok());
  }
}

}  // namespace
}  // namespace migscope
