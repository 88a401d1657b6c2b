// Input: mapping files and recognising what a file is (locate_stream).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "input/input.h"
#include "stream_builder.h"
#include "test_paths.h"

namespace migscope {
namespace {

using test::StreamBuilder;

std::vector<std::byte> libvirt_image(std::string_view magic, std::uint32_t version, std::uint32_t data_len,
                                     std::uint32_t format, bool swap = false) {
  std::vector<std::byte> v(92, std::byte{0});
  std::memcpy(v.data(), magic.data(), 16);
  std::uint32_t fields[5] = {version, data_len, 1, format, 0};
  for (auto& f : fields)
    if (swap) f = __builtin_bswap32(f);
  std::memcpy(v.data() + 16, fields, sizeof fields);  // host byte order, like libvirt
  return v;
}

TEST(LocateStream, PlainStreamAtZero) {
  StreamBuilder b;
  b.header().configuration("pc").eof();
  auto r = locate_stream(b.bytes());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->format, InputFormat::qemu_stream);
  EXPECT_EQ(r->stream_offset, 0u);
}

TEST(LocateStream, EmptyFile) {
  auto r = locate_stream(Bytes{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_a_stream);
  EXPECT_NE(r.error().detail.find("empty"), std::string::npos);
}

TEST(LocateStream, ElfCoreIsNamed) {
  StreamBuilder b;
  b.raw("\x7f" "ELF").u8(2).u8(1).u8(1).fill(57, 0);
  auto r = locate_stream(b.bytes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_a_stream);
  EXPECT_NE(r.error().detail.find("ELF"), std::string::npos) << r.error().detail;
}

TEST(LocateStream, WrongMagicShowsWhatWasFound) {
  StreamBuilder b;
  b.be32(0x12345678).be32(3);
  auto r = locate_stream(b.bytes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_a_stream);
  EXPECT_EQ(r.error().offset, 0u);
  EXPECT_NE(r.error().detail.find("0x12345678"), std::string::npos) << r.error().detail;
}

TEST(LocateStream, ObsoleteVersion2IsUnsupported) {
  StreamBuilder b;
  b.header(0x5145564d, 2).eof();
  auto r = locate_stream(b.bytes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unsupported);
  EXPECT_EQ(r.error().offset, 4u);
  EXPECT_NE(r.error().detail.find("version 2"), std::string::npos);
}

TEST(LocateStream, UnknownVersionIsNotAStream) {
  StreamBuilder b;
  b.header(0x5145564d, 4);
  auto r = locate_stream(b.bytes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_a_stream);
  EXPECT_NE(r.error().detail.find("4"), std::string::npos);
}

TEST(LocateStream, ShortHeader) {
  StreamBuilder b;
  b.raw("QEVM").u8(0);
  auto r = locate_stream(b.bytes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::truncated);
}

TEST(LocateStream, LibvirtRawImageFindsStreamAfterXml) {
  const std::string xml = "<domain type='kvm'><name>g</name></domain>\n";
  std::vector<std::byte> file = libvirt_image("LibvirtQemudSave", 2, static_cast<std::uint32_t>(xml.size() + 7), 0);
  for (char ch : xml) file.push_back(static_cast<std::byte>(ch));
  file.insert(file.end(), 7, std::byte{0});  // libvirt pads data_len
  StreamBuilder stream;
  stream.header().configuration("pc-q35-7.2").eof();
  file.insert(file.end(), stream.bytes().begin(), stream.bytes().end());
  auto r = locate_stream(file);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->format, InputFormat::libvirt_save);
  EXPECT_EQ(r->stream_offset, 92u + xml.size() + 7);
}

TEST(LocateStream, LibvirtHeaderInOtherByteOrder) {
  std::vector<std::byte> file = libvirt_image("LibvirtQemudSave", 2, 10, 0, /*swap=*/true);
  file.insert(file.end(), 10, std::byte{' '});
  StreamBuilder stream;
  stream.header().eof();
  file.insert(file.end(), stream.bytes().begin(), stream.bytes().end());
  auto r = locate_stream(file);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->stream_offset, 102u);
}

TEST(LocateStream, LibvirtRawImageWithoutQevmAfterXml) {
  std::vector<std::byte> file = libvirt_image("LibvirtQemudSave", 2, 4, 0);
  file.insert(file.end(), 4, std::byte{' '});
  for (char ch : std::string("garbage!")) file.push_back(static_cast<std::byte>(ch));
  auto r = locate_stream(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_a_stream);
  EXPECT_EQ(r.error().offset, 96u);
}

TEST(LocateStream, LibvirtCompressedPayloadIsLocated) {
  std::vector<std::byte> file = libvirt_image("LibvirtQemudSave", 2, 100, 3);
  file.insert(file.end(), 100, std::byte{0});  // the domain XML and padding
  for (int c : {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00}) file.push_back(static_cast<std::byte>(c));
  file.insert(file.end(), 200, std::byte{0});
  auto r = locate_stream(file);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->format, InputFormat::libvirt_save);
  EXPECT_EQ(r->compression, Compression::xz);
  EXPECT_EQ(r->payload_offset, 192u);  // 92 + data_len
  ASSERT_TRUE(r->libvirt.has_value());
  EXPECT_EQ(r->libvirt->format, 3u);
  EXPECT_EQ(r->libvirt->data_len, 100u);
}
TEST(LocateStream, LibvirtPayloadThatIsNotWhatTheHeaderSaysIsCorrupt) {
  std::vector<std::byte> file = libvirt_image("LibvirtQemudSave", 2, 0, 1);
  file.insert(file.end(), 16, std::byte{0x42});
  auto r = locate_stream(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::corrupt);
  EXPECT_NE(r.error().detail.find("gzip"), std::string::npos) << r.error().detail;
  EXPECT_EQ(r.error().offset, 92u);  // where the stream should start
  std::vector<std::byte> unknown = libvirt_image("LibvirtQemudSave", 2, 0, 9);
  auto u = locate_stream(unknown);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, ErrorCode::unsupported);
  EXPECT_EQ(u.error().offset, 28u);  // the format field
}
TEST(LocateStream, BareCompressedFilesAreRecognisedByMagic) {
  struct Case {
    std::vector<unsigned char> head;
    Compression c;
  };
  for (const Case& k : {Case{{0x1f, 0x8b, 8}, Compression::gzip}, Case{{0x42, 0x5a, 0x68, 0x39}, Compression::bzip2},
                        Case{{0xfd, 0x37, 0x7a, 0x58, 0x5a, 0}, Compression::xz}, Case{{0x28, 0xb5, 0x2f, 0xfd}, Compression::zstd},
                        Case{{0x5e, 0x2a, 0x4d, 0x18}, Compression::zstd},
                        Case{{0x89, 0x4c, 0x5a, 0x4f, 0, 0x0d, 0x0a, 0x1a, 0x0a}, Compression::lzop}}) {
    std::vector<std::byte> file;
    for (unsigned char c : k.head) file.push_back(static_cast<std::byte>(c));
    file.resize(64);
    auto r = locate_stream(file);
    ASSERT_TRUE(r.ok()) << compression_name(k.c);
    EXPECT_EQ(r->compression, k.c);
    EXPECT_EQ(r->payload_offset, 0u);
    EXPECT_FALSE(r->libvirt.has_value());
  }
}
TEST(LocateStream, LibvirtUnknownVersionAndShortHeader) {
  auto v3 = locate_stream(libvirt_image("LibvirtQemudSave", 3, 0, 0));
  ASSERT_FALSE(v3.ok());
  EXPECT_EQ(v3.error().code, ErrorCode::unsupported);
  auto whole = libvirt_image("LibvirtQemudSave", 2, 0, 0);
  auto shortr = locate_stream(Bytes(whole).first(40));
  ASSERT_FALSE(shortr.ok());
  EXPECT_EQ(shortr.error().code, ErrorCode::truncated);
}

TEST(LocateStream, LibvirtPartialImageIsLocatedAndMarkedIncomplete) {
  // libvirt writes 'LibvirtQemudPart' first and the real magic when the save
  // completed: the stream of one that never finished is located all the same.
  std::vector<std::byte> file = libvirt_image("LibvirtQemudPart", 2, 4, 0);
  file.insert(file.end(), 4, std::byte{' '});
  StreamBuilder stream;
  stream.header().eof();
  file.insert(file.end(), stream.bytes().begin(), stream.bytes().end());
  auto r = locate_stream(file);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->stream_offset, 96u);
  ASSERT_TRUE(r->libvirt.has_value());
  EXPECT_FALSE(r->libvirt->complete);
  std::memcpy(file.data(), "LibvirtQemudSave", 16);
  auto whole = locate_stream(file);
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(whole->libvirt->complete);
}

TEST(LocateStream, LibvirtPartialImageErrorsNameIt) {
  // Cut before its stream (nothing after data_len), or inside its header.
  std::vector<std::byte> file = libvirt_image("LibvirtQemudPart", 2, 0, 0);
  for (std::size_t size : {file.size(), std::size_t{50}}) {
    auto r = locate_stream(Bytes(file).first(size));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::truncated);
    EXPECT_EQ(r.error().detail.rfind("incomplete libvirt save image (magic 'LibvirtQemudPart': the save never finished): ", 0), 0u)
        << r.error().detail;
  }
  // A complete save cut there is truncated too, and not named incomplete.
  std::memcpy(file.data(), "LibvirtQemudSave", 16);
  auto whole = locate_stream(file);
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.error().code, ErrorCode::truncated);
  EXPECT_EQ(whole.error().detail.find("incomplete"), std::string::npos) << whole.error().detail;
}

class InputFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("migscope-input-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, std::span<const std::byte> data) {
    std::string p = (dir_ / name).string();
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    return p;
  }
  std::filesystem::path dir_;
};

TEST_F(InputFileTest, MapsAFileByteForByte) {
  StreamBuilder b;
  b.header().configuration("pc-i440fx-7.2").eof();
  std::string p = write("s.mig", b.bytes());
  auto in = InputFile::open(p);
  ASSERT_TRUE(in.ok()) << in.error().message();
  ASSERT_EQ(in->size(), b.size());
  EXPECT_EQ(std::memcmp(in->bytes().data(), b.bytes().data(), b.size()), 0);
  EXPECT_EQ(in->path(), p);
  // Moving keeps the mapping alive.
  InputFile moved = std::move(in).value();
  EXPECT_EQ(moved.size(), b.size());
  EXPECT_TRUE(locate_stream(moved.bytes()).ok());
}

TEST_F(InputFileTest, EmptyFileMapsToNothingAndIsNamed) {
  std::string p = write("empty", {});
  auto in = InputFile::open(p);
  ASSERT_TRUE(in.ok()) << in.error().message();
  EXPECT_EQ(in->size(), 0u);
  auto loc = locate_stream(in->bytes());
  ASSERT_FALSE(loc.ok());
  EXPECT_EQ(loc.error().code, ErrorCode::not_a_stream);
}

TEST_F(InputFileTest, MissingFileAndDirectoryAreIoErrors) {
  auto missing = InputFile::open((dir_ / "nope").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::io);
  EXPECT_NE(missing.error().detail.find("nope"), std::string::npos);
  auto d = InputFile::open(dir_.string());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::io);
  EXPECT_NE(d.error().detail.find("directory"), std::string::npos);
}

// A reader handing out a buffer in small, uneven pieces, then failing or ending.
class PieceReader final : public SequentialReader {
 public:
  PieceReader(std::vector<std::byte> data, bool fail_at_end) : data_(std::move(data)), fail_(fail_at_end) {}
  Result<std::size_t> read(std::span<std::byte> out) override {
    if (at_ == data_.size()) {
      if (fail_) return make_error(ErrorCode::io, Error::no_offset, "cannot read piece reader: broken");
      return std::size_t{0};
    }
    const std::size_t n = std::min({out.size(), data_.size() - at_, std::size_t{1} + at_ % 4093});
    std::memcpy(out.data(), data_.data() + at_, n);
    at_ += n;
    return n;
  }
  std::string name() const override { return "piece reader"; }

 private:
  std::vector<std::byte> data_;
  std::size_t at_ = 0;
  bool fail_;
};

TEST_F(InputFileTest, SpoolMapsASequentialSourceAndLeavesNoFile) {
  StreamBuilder b;
  b.header().configuration("pc-i440fx-7.2").eof();
  std::vector<std::byte> data(b.bytes().begin(), b.bytes().end());
  data.resize(3u << 20, std::byte{0x5a});  // more than one spool buffer
  const std::string old_tmpdir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
  ::setenv("TMPDIR", dir_.c_str(), 1);
  PieceReader reader(data, false);
  auto in = InputFile::spool(reader);
  if (old_tmpdir.empty()) ::unsetenv("TMPDIR");
  else ::setenv("TMPDIR", old_tmpdir.c_str(), 1);
  ASSERT_TRUE(in.ok()) << in.error().message();
  EXPECT_EQ(in->path(), "piece reader");
  ASSERT_EQ(in->size(), data.size());
  EXPECT_EQ(std::memcmp(in->bytes().data(), data.data(), data.size()), 0);
  EXPECT_TRUE(std::filesystem::is_empty(dir_)) << "the spool file must be unlinked while mapped";
}

TEST_F(InputFileTest, SpoolPassesOnTheReadersErrorAndLeavesNoFile) {
  const std::string old_tmpdir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
  ::setenv("TMPDIR", dir_.c_str(), 1);
  PieceReader reader(std::vector<std::byte>(100000, std::byte{1}), true);
  auto in = InputFile::spool(reader);
  if (old_tmpdir.empty()) ::unsetenv("TMPDIR");
  else ::setenv("TMPDIR", old_tmpdir.c_str(), 1);
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error().code, ErrorCode::io);
  EXPECT_NE(in.error().detail.find("broken"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(InputFileTest, SpoolRefusesMoreThanItsLimit) {
  const std::string old_tmpdir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
  ::setenv("TMPDIR", dir_.c_str(), 1);
  PieceReader reader(std::vector<std::byte>(3u << 20, std::byte{0}), false);
  auto in = InputFile::spool(reader, 1u << 20);
  if (old_tmpdir.empty()) ::unsetenv("TMPDIR");
  else ::setenv("TMPDIR", old_tmpdir.c_str(), 1);
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error().code, ErrorCode::unsupported);
  EXPECT_NE(in.error().detail.find("more than 1048576 bytes"), std::string::npos) << in.error().detail;
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(InputFileTest, FdReaderReadsAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const char text[] = "QEVM piped";
  ASSERT_EQ(::write(fds[1], text, sizeof text), static_cast<ssize_t>(sizeof text));
  ::close(fds[1]);
  FdReader reader(fds[0], "the pipe");
  auto in = InputFile::spool(reader);
  ::close(fds[0]);
  ASSERT_TRUE(in.ok()) << in.error().message();
  ASSERT_EQ(in->size(), sizeof text);
  EXPECT_EQ(std::memcmp(in->bytes().data(), text, sizeof text), 0);
  EXPECT_EQ(in->path(), "the pipe");
}

std::uint64_t resident_bytes(const void* start) { return test::mapping_resident_bytes(start); }

// A 64 MiB file whose every 4 KiB page starts with its own index.
std::vector<std::byte> numbered_pages(std::size_t pages) {
  std::vector<std::byte> v(pages * 4096, std::byte{0x5a});
  for (std::uint64_t i = 0; i < pages; ++i) std::memcpy(v.data() + i * 4096, &i, sizeof i);
  return v;
}

TEST_F(InputFileTest, ReleaserWithHelpersKeepsContentAndBoundsTheResidentSet) {
  const std::size_t pages = 16384;  // 64 MiB
  std::string p = write("big", numbered_pages(pages));
  auto in = InputFile::open(p);
  ASSERT_TRUE(in.ok()) << in.error().message();
  Bytes m = in->bytes();
  std::uint64_t max_resident = 0;
  {
    MappingReleaser releaser(m, 2, /*min_helped=*/0);
    ASSERT_TRUE(releaser.helped());
    for (std::uint64_t i = 0; i < pages; ++i) {
      std::uint64_t got;
      std::memcpy(&got, m.data() + i * 4096, sizeof got);
      ASSERT_EQ(got, i) << "page " << i;  // releasing behind never loses data ahead
      if (i % 256 == 0) {
        releaser.advance(i * 4096);
        if (i % 2048 == 0) max_resident = std::max(max_resident, resident_bytes(m.data()));
      }
    }
    // Walking back re-faults released pages: they are still the file's.
    std::uint64_t first;
    std::memcpy(&first, m.data(), sizeof first);
    EXPECT_EQ(first, 0u);
  }
  ASSERT_NE(max_resident, UINT64_MAX);
  // Helpers map kAhead ahead and release behind (the caller does it if they
  // lag kMaxLag): far below 64 MiB, however the threads are scheduled.
  EXPECT_LT(max_resident, MappingReleaser::kAhead + MappingReleaser::kMaxLag + 6 * MappingReleaser::kWindow);
}

TEST_F(InputFileTest, ReleaserHelpersStopWhenTheCallerStopsEarly) {
  std::string p = write("big", numbered_pages(8192));
  auto in = InputFile::open(p);
  ASSERT_TRUE(in.ok()) << in.error().message();
  for (std::uint64_t round = 0; round < 20; ++round) {
    MappingReleaser releaser(in->bytes(), 3, /*min_helped=*/0);
    releaser.advance(round << 20);
  }  // each destructor must join helpers that are waiting for the caller
  MappingReleaser small(in->bytes(), 2);  // 32 MiB is under kMinHelped
  EXPECT_FALSE(small.helped());
}

TEST_F(InputFileTest, ReleaserWithoutHelpersBoundsTheResidentSetAtUnalignedPositions) {
  const std::size_t pages = 32768;  // 128 MiB
  std::string p = write("big", numbered_pages(pages));
  auto in = InputFile::open(p);
  ASSERT_TRUE(in.ok()) << in.error().message();
  Bytes m = in->bytes();
  MappingReleaser releaser(m);
  ASSERT_FALSE(releaser.helped());
  std::uint64_t max_resident = 0;
  // Record-like positions (4 KiB + 8), never on a 2 MiB boundary.
  for (std::uint64_t pos = 0; pos + 4104 <= m.size(); pos += 4104) {
    std::uint64_t page;
    std::memcpy(&page, m.data() + pos / 4096 * 4096, sizeof page);
    ASSERT_EQ(page, pos / 4096);
    releaser.advance(pos);
    if (pos % (4104 * 1024) == 0) max_resident = std::max(max_resident, resident_bytes(m.data()));
  }
  ASSERT_NE(max_resident, UINT64_MAX);
  // 2 steps behind, 2 ahead, and the 2 MiB units at the edges: nothing else.
  EXPECT_LT(max_resident, 4 * MappingReleaser::kStep + 4 * (std::uint64_t{2} << 20));
}

}  // namespace
}  // namespace migscope
