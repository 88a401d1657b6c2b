#include "input/input.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/iostreams/device/mapped_file.hpp>

namespace migscope {

struct InputFile::Impl {
  boost::iostreams::mapped_file_source map;
  int spool_fd = -1;  // keeps an unlinked spool file alive for stdin input
  ~Impl() {
    if (map.is_open()) map.close();
    if (spool_fd >= 0) ::close(spool_fd);
  }
};

InputFile::InputFile() = default;
InputFile::~InputFile() = default;
InputFile::InputFile(InputFile&&) noexcept = default;
InputFile& InputFile::operator=(InputFile&&) noexcept = default;

Bytes InputFile::bytes() const noexcept {
  if (!impl_ || !impl_->map.is_open()) return {};
  return {reinterpret_cast<const std::byte*>(impl_->map.data()), impl_->map.size()};
}

namespace {

Error os_error(const std::string& what, const std::string& path) {
  return make_error(ErrorCode::io, Error::no_offset, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<std::size_t> FdReader::read(std::span<std::byte> out) {
  for (;;) {
    const ssize_t n = ::read(fd_, out.data(), out.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return os_error("cannot read", name_);
  }
}

Result<InputFile> InputFile::spool(SequentialReader& reader) {
  InputFile in;
  in.path_ = reader.name();
  in.impl_ = std::make_unique<Impl>();
  const char* dir = std::getenv("TMPDIR");
  std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/migscope-spool-XXXXXX";
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return os_error("cannot create a spool file for " + in.path_ + " in", tmpl);
  in.impl_->spool_fd = fd;
  // Unlinked while mapped: the descriptor and the mapping keep the data alive,
  // and nothing is left behind whatever happens next.
  struct Unlink {
    const std::string& path;
    ~Unlink() { ::unlink(path.c_str()); }
  } unlink_at_exit{tmpl};
  std::vector<std::byte> buf(std::size_t{1} << 20);
  for (;;) {
    MIGSCOPE_ASSIGN(std::size_t n, reader.read(buf));
    if (n == 0) break;
    for (std::size_t off = 0; off < n;) {
      const ssize_t w = ::write(fd, buf.data() + off, n - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return os_error("cannot write spool file", tmpl);
      }
      off += static_cast<std::size_t>(w);
    }
  }
  MIGSCOPE_TRY(in.map(tmpl));
  return in;
}

Result<InputFile> InputFile::open(const std::string& path) {
  if (path == "-") {
    FdReader stdin_reader(STDIN_FILENO, "-");
    return spool(stdin_reader);
  }
  InputFile in;
  in.path_ = path;
  in.impl_ = std::make_unique<Impl>();
  MIGSCOPE_TRY(in.map(path));
  return in;
}

Status InputFile::map(const std::string& map_path) {
  struct stat st {};
  if (::stat(map_path.c_str(), &st) != 0) return os_error("cannot open", path_);
  if (S_ISDIR(st.st_mode))
    return make_error(ErrorCode::io, Error::no_offset, "cannot read " + path_ + ": it is a directory");
  if (st.st_size == 0) return {};  // an empty input maps to an empty span; locate_stream names it
  try {
    impl_->map.open(map_path);
  } catch (const std::exception& ex) {
    return make_error(ErrorCode::io, Error::no_offset, "cannot map " + path_ + ": " + ex.what());
  }
  // The walker reads front to back; tell the kernel to read ahead and drop behind.
  ::madvise(const_cast<char*>(impl_->map.data()), impl_->map.size(), MADV_SEQUENTIAL);
  return {};
}

void release_mapped_range(Bytes mapping, std::uint64_t from, std::uint64_t to) noexcept {
  // Whole 2 MiB units of the address space only: a file cached in large
  // folios is mapped by PMDs, and zapping part of one makes the kernel split
  // the cached folio, which slows every later reader of the file (measured: a
  // 3.2 GB file's mapping cost went from 0.01 s to 0.12 s). Between 4 KiB
  // folios the coarser unit costs nothing.
  constexpr std::uint64_t kUnit = 2u << 20;
  if (to > mapping.size()) to = mapping.size();
  const auto base = reinterpret_cast<std::uintptr_t>(mapping.data());
  // Callers release everything before `to` (what lies before `from` is dead
  // too), so `from` rounds down: rounding it up would keep, at each call, the
  // unit the previous call stopped in (measured: 0.5 GB resident for 3.2 GB).
  std::uint64_t lo = std::max<std::uint64_t>(base, (base + from) / kUnit * kUnit);
  std::uint64_t hi = (base + to) / kUnit * kUnit;
  if (hi <= lo) return;
  ::madvise(reinterpret_cast<void*>(lo), static_cast<std::size_t>(hi - lo), MADV_DONTNEED);
}

void populate_mapped_range(Bytes mapping, std::uint64_t from, std::uint64_t to) noexcept {
#ifndef MADV_POPULATE_READ
  constexpr int MADV_POPULATE_READ = 22;  // Linux 5.14
#endif
  static const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  if (to > mapping.size()) to = mapping.size();
  from = from / page * page;
  if (to <= from) return;
  ::madvise(const_cast<std::byte*>(mapping.data()) + from, static_cast<std::size_t>(to - from), MADV_POPULATE_READ);
}

namespace {
constexpr std::chrono::microseconds kCheapWindow{30};  // 2 MiB in 4 KiB folios: ~150 us here
constexpr unsigned kCheapWindowsToStop = 8;
}  // namespace

struct MappingReleaser::Helpers {
  std::atomic<std::uint64_t> position{0};   // the caller's announced position
  std::atomic<std::uint64_t> next_window{0};
  std::atomic<std::uint64_t> released{0};   // everything before it was released
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;

  void run(Bytes mapping) {
    const std::uint64_t size = mapping.size();
    unsigned cheap_in_a_row = 0;
    for (;;) {
      const std::uint64_t from = next_window.fetch_add(1, std::memory_order_relaxed) * kWindow;
      if (from >= size) return;
      std::uint64_t at = position.load(std::memory_order_acquire);
      // Wait until the caller is within kAhead of this window.
      while (!stop.load(std::memory_order_acquire) && from >= at + kAhead) {
        position.wait(at, std::memory_order_acquire);
        at = position.load(std::memory_order_acquire);
      }
      if (stop.load(std::memory_order_acquire)) return;
      // A window the caller has passed is already mapped (it faulted it in).
      if (from + kWindow > position.load()) {
        const auto t0 = std::chrono::steady_clock::now();
        populate_mapped_range(mapping, from, from + kWindow);
        // A file cached in large folios maps a window in a few PMDs: then
        // helping costs more (wake-ups, a core) than it saves, and the
        // caller's own faults and releases do (see announce()).
        if (std::chrono::steady_clock::now() - t0 < kCheapWindow) {
          if (++cheap_in_a_row == kCheapWindowsToStop) return;
        } else {
          cheap_in_a_row = 0;
        }
        // Preempted for a time slice, a helper can finish mapping a window
        // after another released past it: release it again, or it would stay.
        if (released.load() >= from + kWindow) release_mapped_range(mapping, from, from + kWindow);
      }
      // Release behind the caller, one helper at a time.
      at = position.load();
      std::uint64_t done = released.load();
      if (at >= done + 3 * kWindow) {
        const std::uint64_t upto = (at - kWindow) / kWindow * kWindow;
        if (released.compare_exchange_strong(done, upto)) release_mapped_range(mapping, done, upto);
      }
    }
  }
};

MappingReleaser::MappingReleaser(Bytes mapping, unsigned helpers, std::uint64_t min_helped) : mapping_(mapping) {
  if (helpers == 0 || mapping.size() < min_helped) return;
  helpers_ = std::make_unique<Helpers>();
  try {
    for (unsigned i = 0; i < helpers; ++i) helpers_->threads.emplace_back([this] { helpers_->run(mapping_); });
  } catch (const std::system_error&) {
    // No thread (resource limits): the helpers that started still help; with
    // none, the caller maps and releases itself.
  }
  helped_ = !helpers_->threads.empty();
}

MappingReleaser::~MappingReleaser() {
  if (!helpers_) return;
  helpers_->stop.store(true, std::memory_order_release);
  helpers_->position.fetch_add(1, std::memory_order_release);  // a change wakes the waiters
  helpers_->position.notify_all();
  for (auto& t : helpers_->threads) t.join();
}

void MappingReleaser::announce(std::uint64_t position) noexcept {
  helpers_->position.store(position);
  helpers_->position.notify_all();
  // Helpers starved of CPU must not let the resident set grow: past a lag of
  // a few windows, the caller releases itself.
  std::uint64_t done = helpers_->released.load();
  if (position >= done + kMaxLag) {
    const std::uint64_t upto = (position - kWindow) / kWindow * kWindow;
    if (helpers_->released.compare_exchange_strong(done, upto)) release_mapped_range(mapping_, done, upto);
  }
}

namespace {

constexpr std::uint32_t kQevmMagic = 0x5145564d;
constexpr char kLibvirtSave[] = "LibvirtQemudSave";
constexpr char kLibvirtPart[] = "LibvirtQemudPart";
constexpr std::size_t kLibvirtHeaderSize = 92;  // magic[16] + 5 x u32 + unused[14] x u32

Result<StreamLocation> check_qevm(Bytes file, std::uint64_t at, InputFormat format) {
  if (file.size() < at + 8)
    return make_error(ErrorCode::truncated, at, "input ends inside the stream header: need 8 bytes ('QEVM' + version)");
  std::uint32_t magic = load_be32(file.data() + at);
  if (magic != kQevmMagic) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "wrong magic 0x%08x (expected 'QEVM' 0x5145564d)", magic);
    return make_error(ErrorCode::not_a_stream, at, buf);
  }
  std::uint32_t version = load_be32(file.data() + at + 4);
  if (version == 2)
    return make_error(ErrorCode::unsupported, at + 4, "stream version 2 (SaveVM v2 format is obsolete; QEMU itself no longer loads it)");
  if (version != 3)
    return make_error(ErrorCode::not_a_stream, at + 4, "unknown stream version " + std::to_string(version) + " (expected 3)");
  return StreamLocation{format, at};
}

}  // namespace

bool file_starts_like_stream(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char head[16] = {};
  const std::size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  if (n >= 4 && std::memcmp(head, "QEVM", 4) == 0) return true;
  return n >= 16 && std::memcmp(head, kLibvirtSave, 16) == 0;
}

Result<StreamLocation> locate_stream(Bytes file) {
  if (file.empty()) return make_error(ErrorCode::not_a_stream, 0, "empty file");
  auto starts_with = [&](std::string_view magic) {
    return file.size() >= magic.size() && std::memcmp(file.data(), magic.data(), magic.size()) == 0;
  };
  if (starts_with("\x7f" "ELF"))
    return make_error(ErrorCode::not_a_stream, 0,
                      "ELF file (a guest memory dump from dump-guest-memory or a core file), not a migration stream");
  if (starts_with(kLibvirtPart))
    return make_error(ErrorCode::not_a_stream, 0,
                      "incomplete libvirt save image (magic 'LibvirtQemudPart': the save never finished)");
  if (starts_with(kLibvirtSave)) {
    if (file.size() < kLibvirtHeaderSize)
      return make_error(ErrorCode::truncated, 0, "input ends inside the libvirt save image header (92 bytes)");
    // The header is written in host byte order; version 2 tells which.
    std::uint32_t fields[5];
    std::memcpy(fields, file.data() + 16, sizeof fields);
    if (fields[0] != 2) {
      for (auto& f : fields) f = __builtin_bswap32(f);
    }
    if (fields[0] != 2)
      return make_error(ErrorCode::unsupported, 16, "libvirt save image version " + std::to_string(fields[0]) + " (expected 2)");
    std::uint32_t data_len = fields[1];
    std::uint32_t format = fields[3];
    static constexpr const char* kFormats[] = {"raw", "gzip", "bzip2", "xz", "lzop", "zstd", "sparse"};
    if (format != 0) {
      std::string name = format < std::size(kFormats) ? kFormats[format] : "format " + std::to_string(format);
      return make_error(ErrorCode::unsupported, 28,  // the format field
                        "libvirt save image compressed with " + name +
                            ": decompress it first (e.g. tail -c +" + std::to_string(kLibvirtHeaderSize + data_len + 1) +
                            " FILE | " + name + " -d > stream.mig)");
    }
    return check_qevm(file, kLibvirtHeaderSize + static_cast<std::uint64_t>(data_len), InputFormat::libvirt_save);
  }
  return check_qevm(file, 0, InputFormat::qemu_stream);
}

}  // namespace migscope
