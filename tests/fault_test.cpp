// Faults while writing (issue 15): the output file system filling up, SIGINT
// and SIGTERM mid-way, a read-only output directory, two writers of the same
// output, a symlink swapped into the output path, an input pipe closed early.
// The commands that write files (extract, vmcore, report, cat) run as users
// run them; the file system is made to misbehave by tests/fault/fault_shim.cpp
// (LD_PRELOAD), which fails or slows down writes under one directory only.
// Each case must end with the documented exit code, one line on stderr, and
// nothing in the output directory that was not there before.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_paths.h"

extern char** environ;

namespace migscope::test {
namespace {

namespace fs = std::filesystem;

std::string quote(const std::string& s) { return "'" + s + "'"; }
int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// Every entry under `dir`, hidden ones included, as relative paths.
std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec))
    out.insert(fs::relative(it->path(), dir).string());
  return out;
}

class Fault : public ::testing::Test {
 protected:
  void SetUp() override {
    stream_ = binary_dir() + "/corpus/streams/x86_64-q35-7.2.mig";
    if (!fs::is_regular_file(stream_)) GTEST_SKIP() << "corpus not built";
    dir_ = fs::temp_directory_path() /
           ("migscope-fault-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "out");
    // What the user already had there: it must come through every fault.
    keep("out/notes.txt", "the user's own file\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void keep(const std::string& rel, const std::string& text) {
    std::ofstream(dir_ / rel, std::ios::binary) << text;
    kept_.emplace_back(rel, text);
  }
  void expect_kept() {
    for (const auto& [rel, text] : kept_) {
      EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(dir_ / rel))) << rel;
      EXPECT_TRUE(read_file((dir_ / rel).string()) == text) << rel << " changed";
    }
  }
  // The environment prefix that makes writes under out/ misbehave.
  std::string faults(const std::string& settings) const {
    return "env LD_PRELOAD=" + quote(MIGSCOPE_FAULT_SHIM) + " ASAN_OPTIONS=verify_asan_link_order=0 MIGSCOPE_FAULT_DIR=" +
           quote((dir_ / "out").string()) + (named_temporaries_ ? " MIGSCOPE_FAULT_NO_TMPFILE=1 " : " ") + settings + " ";
  }
  std::string migscope() const { return quote(tool_path("migscope")); }
  std::string out(const std::string& rel) const { return (dir_ / "out" / rel).string(); }

  struct Run {
    int status;
    std::string err;
  };
  Run run(const std::string& cmd) {
    const std::string err_path = (dir_ / "stderr").string();
    Run r;
    std::string ignored;
    r.status = run_command(cmd + " >/dev/null 2>" + quote(err_path), &ignored);
    r.err = read_file(err_path);
    return r;
  }

  // Start `cmd` (exec'd by sh, so the pid is the command's own).
  pid_t start(const std::string& cmd, const std::string& err_path) {
    const std::string line = "exec " + cmd + " >/dev/null 2>" + quote(err_path);
    const char* argv[] = {"sh", "-c", line.c_str(), nullptr};
    pid_t pid = -1;
    EXPECT_EQ(::posix_spawnp(&pid, "sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
    return pid;
  }
  static int wait_status(pid_t pid) {
    int st = 0;
    if (::waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
  }
  // Wait until the command's first write under out/ (the shim's mark).
  bool wait_for(const fs::path& mark) {
    for (int i = 0; i < 2000; ++i) {
      if (fs::exists(mark)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::string stream_;
  fs::path dir_;
  bool named_temporaries_ = false;  // the file system has no O_TMPFILE (the shim says so)
  std::vector<std::pair<std::string, std::string>> kept_;
};

// The writing commands, each with its output under out/.
struct Writer {
  const char* name;
  const char* args;  // {} is the output
  const char* output;
};
const Writer kWriters[] = {
    {"extract", "extract -o {}", "blocks"},
    {"vmcore", "vmcore -o {}", "guest.core"},
    {"vmcore raw", "vmcore --format raw -o {}", "guest.img"},
    {"report", "report -o {}", "dump.html"},
    {"cat", "cat -o {}", "bare.mig"},
};

std::string with_output(const Writer& w, const std::string& path) {
  std::string a = w.args;
  a.replace(a.find("{}"), 2, quote(path));
  return a;
}

TEST_F(Fault, AFullDiskIsAnIoErrorAndLeavesNothing) {
  // An earlier output of the same name, replaced only by a complete one.
  keep("out/guest.core", "an earlier core\n");
  for (const Writer& w : kWriters) {
    // How much the complete output writes, to run out of room half-way.
    const std::string full_path = (dir_ / "out" / "full").string(), count = (dir_ / "count").string();
    ASSERT_EQ(run(faults("MIGSCOPE_FAULT_COUNT=" + quote(count)) + migscope() + " " + with_output(w, full_path) + " " +
                  quote(stream_))
                  .status,
              0)
        << w.name;
    fs::remove_all(full_path);
    const std::uintmax_t full = std::stoull(read_file(count));
    ASSERT_GT(full, 8192u) << w.name;
    for (const std::uintmax_t budget : {std::uintmax_t{0}, std::uintmax_t{4096}, full / 2}) {
      SCOPED_TRACE(std::string(w.name) + " with " + std::to_string(budget) + " bytes free");
      const bool replaces = std::string(w.output) == "guest.core";
      const std::set<std::string> before = entries(dir_ / "out");
      Run r = run(faults("MIGSCOPE_FAULT_ENOSPC_AFTER=" + std::to_string(budget)) + migscope() + " " +
                  with_output(w, out(w.output)) + (replaces ? " --force " : " ") + quote(stream_));
      EXPECT_EQ(r.status, 7) << r.err;
      EXPECT_EQ(count_lines(r.err), 1) << r.err;
      EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
      EXPECT_EQ(entries(dir_ / "out"), before);
      expect_kept();
    }
  }
  // The same commands with room enough succeed (the shim alone changes nothing).
  Run ok = run(faults("MIGSCOPE_FAULT_ENOSPC_AFTER=1000000000") + migscope() + " extract -o " + quote(out("blocks")) +
               " " + quote(stream_));
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_TRUE(fs::is_regular_file(out("blocks/pc.ram")));
}

TEST_F(Fault, SigintAndSigtermRemoveEverythingAndExit130And143) {
  for (const Writer& w : kWriters) {
    for (int sig : {SIGINT, SIGTERM}) {
      SCOPED_TRACE(std::string(w.name) + (sig == SIGINT ? " SIGINT" : " SIGTERM"));
      const fs::path mark = dir_ / "writing";
      fs::remove(mark);
      const std::set<std::string> before = entries(dir_ / "out");
      const std::string err = (dir_ / "stderr").string();
      // 50 ms per write: the command is still writing when the signal comes.
      pid_t pid = start(faults("MIGSCOPE_FAULT_DELAY_US=50000 MIGSCOPE_FAULT_MARK=" + quote(mark.string())) +
                            migscope() + " " + with_output(w, out(w.output)) + " " + quote(stream_),
                        err);
      ASSERT_GT(pid, 0);
      ASSERT_TRUE(wait_for(mark)) << "never started writing";
      ::kill(pid, sig);
      EXPECT_EQ(wait_status(pid), 128 + sig);
      const std::string text = read_file(err);
      EXPECT_EQ(count_lines(text), 1) << text;
      EXPECT_NE(text.find(sig == SIGINT ? "interrupted (SIGINT)" : "interrupted (SIGTERM)"), std::string::npos) << text;
      EXPECT_EQ(entries(dir_ / "out"), before);
      expect_kept();
    }
  }
}

TEST_F(Fault, AReadOnlyOutputDirectoryIsRefusedWithNothingWritten) {
  // root writes anywhere: run the command as nobody.
  std::string as_user;
  if (::geteuid() == 0) {
    if (run_command("command -v setpriv >/dev/null", nullptr) != 0) GTEST_SKIP() << "no setpriv to drop root";
    as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    if (run_command(as_user + "true", nullptr) != 0) GTEST_SKIP() << "setpriv cannot drop root here";
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  }
  fs::permissions(dir_ / "out", fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                    fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  if (!as_user.empty() && run_command(as_user + "test -r " + quote(stream_), nullptr) != 0)
    GTEST_SKIP() << "the corpus is not readable by nobody";
  for (const Writer& w : kWriters) {
    SCOPED_TRACE(w.name);
    Run r = run(as_user + migscope() + " " + with_output(w, out(w.output)) + " " + quote(stream_));
    EXPECT_EQ(r.status, 7) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
    EXPECT_EQ(entries(dir_ / "out"), (std::set<std::string>{"notes.txt"}));
  }
  fs::permissions(dir_ / "out", fs::perms::owner_all);
  expect_kept();
}

TEST_F(Fault, OfTwoWritersOfOneOutputOneWinsAndTheOtherRefuses) {
  // What a lone run writes, to compare the winner's output with.
  ASSERT_EQ(run(migscope() + " extract -o " + quote((dir_ / "alone").string()) + " " + quote(stream_)).status, 0);
  ASSERT_EQ(run(migscope() + " vmcore -o " + quote((dir_ / "alone.core").string()) + " " + quote(stream_)).status, 0);
  for (const Writer& w : {kWriters[0], kWriters[1]}) {
    SCOPED_TRACE(w.name);
    const fs::path mark = dir_ / "writing";
    fs::remove(mark);
    const std::string slow = faults("MIGSCOPE_FAULT_DELAY_US=2000 MIGSCOPE_FAULT_MARK=" + quote(mark.string()));
    const std::string cmd = migscope() + " " + with_output(w, out(w.output)) + " " + quote(stream_);
    pid_t first = start(slow + cmd, (dir_ / "err1").string());
    ASSERT_TRUE(wait_for(mark));
    pid_t second = start(slow + cmd, (dir_ / "err2").string());
    const int a = wait_status(first), b = wait_status(second);
    EXPECT_EQ(std::min(a, b), 0) << read_file((dir_ / "err1").string()) << read_file((dir_ / "err2").string());
    EXPECT_EQ(std::max(a, b), 6) << read_file((dir_ / "err1").string()) << read_file((dir_ / "err2").string());
    const std::string loser = read_file((dir_ / (a == 6 ? "err1" : "err2")).string());
    EXPECT_EQ(count_lines(loser), 1) << loser;
    // The winner's output is whole, and nothing of the loser's is left.
    if (std::string(w.name) == "extract") {
      EXPECT_EQ(entries(dir_ / "out" / "blocks"), entries(dir_ / "alone"));
      for (const auto& rel : entries(dir_ / "alone"))
        if (fs::is_regular_file(dir_ / "alone" / rel)) {
          EXPECT_TRUE(read_file((dir_ / "out/blocks" / rel).string()) == read_file((dir_ / "alone" / rel).string())) << rel;
        }
    } else {
      EXPECT_TRUE(read_file(out(w.output)) == read_file((dir_ / "alone.core").string()));
    }
    EXPECT_EQ(entries(dir_ / "out").count("notes.txt"), 1u);
    for (const auto& e : entries(dir_ / "out")) EXPECT_EQ(e.find("migscope-partial"), std::string::npos) << e;
  }
  expect_kept();
}

TEST_F(Fault, ASymlinkSwappedInDuringTheRunIsNeverWrittenThrough) {
  keep("victim", "not to be overwritten\n");
  for (bool force : {false, true}) {
    for (const Writer& w : {kWriters[0], kWriters[1], kWriters[3]}) {
      SCOPED_TRACE(std::string(w.name) + (force ? " --force" : ""));
      const fs::path mark = dir_ / "writing";
      fs::remove(mark);
      fs::remove_all(out(w.output));
      // extract: the swap is at a block file inside the output directory.
      const bool is_dir = std::string(w.name) == "extract";
      const fs::path target = is_dir ? fs::path(out(w.output)) / "pc.ram" : fs::path(out(w.output));
      pid_t pid = start(faults("MIGSCOPE_FAULT_DELAY_US=20000 MIGSCOPE_FAULT_MARK=" + quote(mark.string())) + migscope() +
                            " " + with_output(w, out(w.output)) + (force ? " --force " : " ") + quote(stream_),
                        (dir_ / "stderr").string());
      ASSERT_TRUE(wait_for(mark));
      fs::create_directories(target.parent_path());
      fs::create_symlink(dir_ / "victim", target);
      const int status = wait_status(pid);
      const std::string err = read_file((dir_ / "stderr").string());
      if (force) {
        // --force replaces the name: the symlink itself, not what it points to.
        EXPECT_EQ(status, 0) << err;
        EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(target)));
      } else {
        EXPECT_EQ(status, 6) << err;
        EXPECT_EQ(count_lines(err), 1) << err;
        EXPECT_NE(err.find("appeared while it was being written"), std::string::npos) << err;
        EXPECT_TRUE(fs::is_symlink(target));  // left as it is
      }
      expect_kept();
    }
  }
}

TEST_F(Fault, AnInputPipeClosedEarlyIsTruncatedInput) {
  const std::uintmax_t size = fs::file_size(stream_);
  const std::string wrapped = binary_dir() + "/corpus/wrapped/q35-xz.save";
  for (const Writer& w : kWriters) {
    for (const std::string& input : {stream_, wrapped}) {
      if (!fs::is_regular_file(input)) continue;
      for (std::uintmax_t keep_bytes : {std::uintmax_t{100}, size / 3, size - 10}) {
        SCOPED_TRACE(std::string(w.name) + " of " + input + " cut at " + std::to_string(keep_bytes));
        if (keep_bytes >= fs::file_size(input)) continue;
        Run r = run("head -c " + std::to_string(keep_bytes) + " " + quote(input) + " | " + migscope() + " " +
                    with_output(w, out(w.output)) + " -");
        EXPECT_EQ(r.status, 5) << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
        EXPECT_EQ(entries(dir_ / "out"), (std::set<std::string>{"notes.txt"}));
      }
    }
  }
  for (const char* cmd : {"info", "state", "hash"}) {
    Run r = run("head -c " + std::to_string(size / 2) + " " + quote(stream_) + " | " + migscope() + " " + cmd + " -");
    EXPECT_EQ(r.status, 5) << cmd << ": " << r.err;
  }
  expect_kept();
}

TEST_F(Fault, WithoutUnnamedFilesTheNamedTemporariesGoToo) {
  // A file system without O_TMPFILE: outputs are written under unique
  // temporary names. A full disk, an interrupt and a second writer leave
  // none of them behind either.
  named_temporaries_ = true;
  const Writer& w = kWriters[0];  // extract: several files, directories made for them
  Run full = run(faults("MIGSCOPE_FAULT_ENOSPC_AFTER=100000") + migscope() + " " + with_output(w, out(w.output)) + " " +
                 quote(stream_));
  EXPECT_EQ(full.status, 7) << full.err;
  EXPECT_EQ(entries(dir_ / "out"), (std::set<std::string>{"notes.txt"}));
  for (int sig : {SIGINT, SIGTERM}) {
    const fs::path mark = dir_ / "writing";
    fs::remove(mark);
    pid_t pid = start(faults("MIGSCOPE_FAULT_DELAY_US=50000 MIGSCOPE_FAULT_MARK=" + quote(mark.string())) + migscope() +
                          " " + with_output(w, out(w.output)) + " " + quote(stream_),
                      (dir_ / "stderr").string());
    ASSERT_TRUE(wait_for(mark));
    // A named temporary file is there while it is written.
    bool seen = false;
    for (const auto& e : entries(dir_ / "out")) seen = seen || e.find(".migscope-partial") != std::string::npos;
    EXPECT_TRUE(seen);
    ::kill(pid, sig);
    EXPECT_EQ(wait_status(pid), 128 + sig);
    EXPECT_EQ(entries(dir_ / "out"), (std::set<std::string>{"notes.txt"}));
  }
  Run ok = run(faults("") + migscope() + " " + with_output(w, out(w.output)) + " " + quote(stream_));
  EXPECT_EQ(ok.status, 0) << ok.err;
  for (const auto& e : entries(dir_ / "out")) EXPECT_EQ(e.find("migscope-partial"), std::string::npos) << e;
  EXPECT_TRUE(fs::is_regular_file(out("blocks/pc.ram")));
  expect_kept();
}

}  // namespace
}  // namespace migscope::test
