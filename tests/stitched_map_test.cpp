// Extents of a file mapped one after the other (input/stitched_map.h): the
// bytes are the file's at each extent's host offset, zeros for zero extents;
// unaligned extents are refused. Over the real qcow2 corpus: the VM state
// mapped in place equals the VM state read through the L1/L2 tables.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "input/qcow2.h"
#include "input/stitched_map.h"
#include "migscope/input.h"
#include "test_paths.h"

namespace migscope {
namespace {

namespace fs = std::filesystem;

fs::path scratch(const std::string& name, const std::string& content) {
  const fs::path dir = fs::path(test::binary_dir()) / "stitched-tmp";
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::FILE* f = std::fopen(p.c_str(), "wb");
  std::fwrite(content.data(), 1, content.size(), f);
  std::fclose(f);
  return p;
}

TEST(StitchedMap, ExtentsOfAFileAndZerosInOneSpan) {
  std::string file(16384, '\0');
  for (std::size_t i = 0; i < file.size(); ++i) file[i] = static_cast<char>(i * 31 + (i >> 12));
  const fs::path p = scratch("file", file);
  // 4096 bytes from 8192, 4096 zeros, the last 1000 bytes from 0.
  const std::vector<VmstateExtent> extents = {{0, 4096, 8192, false}, {4096, 4096, 0, true}, {8192, 1000, 0, false}};
  auto m = StitchedMapping::map(p.string(), extents, 9192);
  ASSERT_NE(m, nullptr);
  const Bytes b = m->bytes();
  ASSERT_EQ(b.size(), 9192u);
  EXPECT_EQ(std::memcmp(b.data(), file.data() + 8192, 4096), 0);
  for (std::size_t i = 4096; i < 8192; ++i) ASSERT_EQ(b[i], std::byte{0}) << i;
  EXPECT_EQ(std::memcmp(b.data() + 8192, file.data(), 1000), 0);
  // Not page aligned: refused (the caller reads the clusters instead).
  const std::vector<VmstateExtent> odd = {{0, 512, 512, false}, {512, 512, 0, false}};
  EXPECT_EQ(StitchedMapping::map(p.string(), odd, 1024), nullptr);
  EXPECT_EQ(StitchedMapping::map((p.string() + ".missing"), extents, 9192), nullptr);
}

TEST(StitchedMap, CorpusQcow2VmStatesMappedInPlaceEqualTheirClusters) {
  const fs::path dir = fs::path(test::binary_dir()) / "corpus" / "wrapped";
  int checked = 0;
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() != ".qcow2") continue;
      auto in = InputFile::open(e.path().string());
      ASSERT_TRUE(in.ok());
      auto image = read_qcow2(in->bytes());
      ASSERT_TRUE(image.ok()) << image.error().message();
      for (const Qcow2Snapshot& sn : image->snapshots) {
        if (sn.vm_state_size == 0) continue;
        SCOPED_TRACE(e.path().filename().string() + " snapshot " + sn.id);
        auto extents = vmstate_extents(in->bytes(), *image, sn, 4096);
        // savevm writes plain clusters; compressed ones (qemu-img convert -c) are read, not mapped
        if (!extents) {
          EXPECT_NE(e.path().filename().string().find("zstd"), std::string::npos);
          continue;
        }
        std::uint64_t covered = 0;
        for (const VmstateExtent& x : *extents) {
          EXPECT_EQ(x.offset, covered);
          covered += x.length;
        }
        EXPECT_EQ(covered, sn.vm_state_size);
        auto m = StitchedMapping::map(e.path().string(), *extents, sn.vm_state_size);
        ASSERT_NE(m, nullptr);
        auto reader = open_vmstate(in->bytes(), *image, sn, "vmstate");
        std::vector<std::byte> read(static_cast<std::size_t>(sn.vm_state_size));
        std::size_t n = 0;
        while (n < read.size()) {
          auto got = reader->read(std::span<std::byte>(read).subspan(n));
          ASSERT_TRUE(got.ok());
          if (*got == 0) break;
          n += *got;
        }
        ASSERT_EQ(n, read.size());
        EXPECT_EQ(std::memcmp(m->bytes().data(), read.data(), read.size()), 0);
        ++checked;
      }
    }
  if (checked == 0) GTEST_SKIP() << "corpus/wrapped not built";
  EXPECT_GE(checked, 2);
}

}  // namespace
}  // namespace migscope
