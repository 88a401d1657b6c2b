// OutputDir: block names never escape the directory; nothing is replaced
// without force; temporary files vanish unless committed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "sinks/output_dir.h"

namespace fs = std::filesystem;

namespace migscope {
namespace {

class OutputDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("migscope-outdir-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "out");
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST(SafeRelativePath, KeepsOrdinaryNamesAndNeutralisesEscapes) {
  EXPECT_EQ(safe_relative_path("pc.ram"), "pc.ram");
  EXPECT_EQ(safe_relative_path("/rom@etc/acpi/tables"), "rom@etc/acpi/tables");
  EXPECT_EQ(safe_relative_path("0000:00:02.0/vga.vram"), "0000:00:02.0/vga.vram");
  EXPECT_EQ(safe_relative_path("../x"), "%2e%2e/x");
  EXPECT_EQ(safe_relative_path("a/../../b"), "a/%2e%2e/%2e%2e/b");
  EXPECT_EQ(safe_relative_path("//etc///passwd"), "etc/passwd");
  EXPECT_EQ(safe_relative_path("./."), "%empty");
  EXPECT_EQ(safe_relative_path(""), "%empty");
  EXPECT_EQ(safe_relative_path(std::string_view("a\0b c%", 6)), "a%00b%20c%25");
  // Percent-encoding is injective: a literal "%2e%2e" cannot collide with "..".
  EXPECT_NE(safe_relative_path("%2e%2e"), safe_relative_path(".."));
}

TEST_F(OutputDirTest, RefusesExistingFilesWithoutForceAndKeepsThem) {
  { std::ofstream(root_ / "out" / "pc.ram") << "mine"; }
  auto d = OutputDir::open((root_ / "out").string(), false);
  ASSERT_TRUE(d.ok());
  Status s = d->reserve("pc.ram");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::output_refused);
  std::ifstream in(root_ / "out" / "pc.ram");
  std::string content;
  in >> content;
  EXPECT_EQ(content, "mine");
}

TEST_F(OutputDirTest, ForceReplacesOnlyOnCommit) {
  { std::ofstream(root_ / "out" / "pc.ram") << "mine"; }
  {
    auto d = OutputDir::open((root_ / "out").string(), true);
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(d->reserve("pc.ram").ok());
    auto fd = d->create("pc.ram", 4096);
    ASSERT_TRUE(fd.ok());
    // Not committed: the old file stays, the temporary goes away.
  }
  EXPECT_EQ(fs::file_size(root_ / "out" / "pc.ram"), 4u);
  EXPECT_FALSE(fs::exists(root_ / "out" / ".pc.ram.migscope-partial"));
  {
    auto d = OutputDir::open((root_ / "out").string(), true);
    ASSERT_TRUE(d->reserve("pc.ram").ok());
    ASSERT_TRUE(d->create("pc.ram", 8192).ok());
    ASSERT_TRUE(d->commit().ok());
  }
  EXPECT_EQ(fs::file_size(root_ / "out" / "pc.ram"), 8192u);
}

TEST_F(OutputDirTest, RefusesCollidingAndNestedOutputs) {
  auto d = OutputDir::open((root_ / "out").string(), false);
  ASSERT_TRUE(d->reserve("a/b").ok());
  EXPECT_EQ(d->reserve("a/b").error().code, ErrorCode::output_refused);
  EXPECT_EQ(d->reserve("a").error().code, ErrorCode::output_refused);
  EXPECT_EQ(d->reserve("a/b/c").error().code, ErrorCode::output_refused);
  EXPECT_TRUE(d->reserve("ab").ok());
}

TEST_F(OutputDirTest, DoesNotFollowSymlinksOutOfTheDirectory) {
  fs::create_directories(root_ / "outside");
  fs::create_symlink(root_ / "outside", root_ / "out" / "rom@etc");
  auto d = OutputDir::open((root_ / "out").string(), true);
  ASSERT_TRUE(d.ok());
  Status s = d->reserve("rom@etc/acpi/tables");
  if (s.ok()) {
    auto fd = d->create("rom@etc/acpi/tables", 10);
    ASSERT_FALSE(fd.ok());
    EXPECT_EQ(fd.error().code, ErrorCode::output_refused);
  } else {
    EXPECT_EQ(s.error().code, ErrorCode::output_refused);
  }
  EXPECT_TRUE(fs::is_empty(root_ / "outside"));
}

TEST_F(OutputDirTest, CreatesNestedDirectoriesForBlockPaths) {
  auto d = OutputDir::open((root_ / "out" / "new" / "deeper").string(), false);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->reserve("rom@etc/acpi/tables").ok());
  ASSERT_TRUE(d->create("rom@etc/acpi/tables", 131072).ok());
  ASSERT_TRUE(d->commit().ok());
  EXPECT_EQ(fs::file_size(root_ / "out" / "new" / "deeper" / "rom@etc" / "acpi" / "tables"), 131072u);
}

}  // namespace
}  // namespace migscope
