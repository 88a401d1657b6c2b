// The zstd frame tracker over real zstd output (the zstd tool): a clean end
// only between frames, whatever the chunking; a cut anywhere inside a frame
// is seen; skippable frames; bytes that are not zstd named with their offset.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "input/zstd_frames.h"
#include "test_paths.h"

namespace migscope {
namespace {

namespace fs = std::filesystem;

std::string zstd_of(const std::string& data, const std::string& flags) {
  const fs::path dir = fs::path(test::binary_dir()) / "zstd-frames-tmp";
  fs::create_directories(dir);
  const fs::path in = dir / "in", out = dir / "out.zst";
  {
    std::FILE* f = std::fopen(in.c_str(), "wb");
    std::fwrite(data.data(), 1, data.size(), f);
    std::fclose(f);
  }
  const int rc = std::system(("zstd -q -f " + flags + " -o '" + out.string() + "' '" + in.string() + "'").c_str());
  EXPECT_EQ(rc, 0);
  return test::read_file(out.string());
}

ZstdFrameTracker track(const std::string& z, std::size_t chunk) {
  ZstdFrameTracker t;
  for (std::size_t at = 0; at < z.size(); at += chunk)
    t.feed(reinterpret_cast<const std::byte*>(z.data()) + at, std::min(chunk, z.size() - at), at);
  return t;
}

std::string sample(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 2654435761u) >> 13 & (i % 7 == 0 ? 0xff : 0x0f));
  return s;
}

TEST(ZstdFrames, AWholeFileEndsBetweenFramesAndEveryCutInsideAFrameIsSeen) {
  if (std::system("command -v zstd >/dev/null") != 0) GTEST_SKIP() << "no zstd tool";
  for (const char* flags : {"", "--no-check", "--content-size -19"}) {
    SCOPED_TRACE(flags);
    const std::string z = zstd_of(sample(300000), flags);  // several blocks
    for (std::size_t chunk : {1u, 3u, 4096u, 1u << 20}) {
      const ZstdFrameTracker t = track(z, chunk);
      EXPECT_TRUE(t.between_frames()) << t.why();
      EXPECT_EQ(t.frames(), 1u);
    }
    for (std::size_t cut = 1; cut < z.size(); cut += 1 + cut / 3) {
      const ZstdFrameTracker t = track(z.substr(0, cut), 7);
      EXPECT_FALSE(t.between_frames()) << "cut at " << cut;
      EXPECT_EQ(t.why(), "");
      EXPECT_EQ(t.frame_start(), 0u);
    }
  }
}

TEST(ZstdFrames, SeveralFramesAndSkippableFrames) {
  if (std::system("command -v zstd >/dev/null") != 0) GTEST_SKIP() << "no zstd tool";
  const std::string a = zstd_of(sample(5000), ""), b = zstd_of(sample(70000), "--no-check");
  // A skippable frame (magic 0x184D2A5A, 5 bytes of payload) between them.
  const std::string skippable("\x5a\x2a\x4d\x18\x05\x00\x00\x00hello", 13);
  const std::string all = a + skippable + b;
  const ZstdFrameTracker t = track(all, 5);
  EXPECT_TRUE(t.between_frames()) << t.why();
  EXPECT_EQ(t.frames(), 3u);
  // Cut inside the second real frame: it started after the first and the skippable one.
  const ZstdFrameTracker cut = track(all.substr(0, a.size() + skippable.size() + 20), 64);
  EXPECT_FALSE(cut.between_frames());
  EXPECT_EQ(cut.frame_start(), a.size() + skippable.size());
}

TEST(ZstdFrames, BytesThatAreNotZstdAreNamed) {
  if (std::system("command -v zstd >/dev/null") != 0) GTEST_SKIP() << "no zstd tool";
  const std::string a = zstd_of(sample(5000), "");
  const ZstdFrameTracker t = track(a + "garbage!", 4096);
  EXPECT_FALSE(t.between_frames());
  EXPECT_NE(t.why().find("no zstd frame at compressed offset 0x" + [&] {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%zx", a.size());
    return std::string(buf);
  }()), std::string::npos) << t.why();
  // A frame made by hand: single segment, a one-byte content size, then a
  // block header of the reserved type 3.
  const std::string reserved("\x28\xb5\x2f\xfd\x20\x05\x07\x00\x00", 9);
  const ZstdFrameTracker r = track(reserved, 1);
  EXPECT_NE(r.why().find("zstd block at compressed offset 0x6 has the reserved type 3"), std::string::npos) << r.why();
  // The same with a raw block of 5 bytes: a clean frame.
  const std::string raw("\x28\xb5\x2f\xfd\x20\x05\x29\x00\x00hello", 14);
  EXPECT_TRUE(track(raw, 2).between_frames());
  EXPECT_FALSE(track(raw.substr(0, 13), 2).between_frames());
}

}  // namespace
}  // namespace migscope
