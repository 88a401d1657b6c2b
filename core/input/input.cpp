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
#include <bit>
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

Result<InputFile> InputFile::spool(SequentialReader& reader, std::uint64_t max_bytes) {
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
  std::uint64_t total = 0;
  for (;;) {
    MIGSCOPE_ASSIGN(std::size_t n, reader.read(buf));
    if (n == 0) break;
    total += n;
    if (total > max_bytes)
      return make_error(ErrorCode::unsupported, max_bytes,
                        in.path_ + " holds more than " + std::to_string(max_bytes) +
                            " bytes of stream, more than its size allows (a decompression bomb?)");
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
  StreamLocation loc;
  loc.format = format;
  loc.stream_offset = at;
  return loc;
}

// libvirt's format codes that are a compressor's output (qemu_saveimage.h).
Compression compression_of_format(std::uint32_t format) {
  switch (format) {
    case 1: return Compression::gzip;
    case 2: return Compression::bzip2;
    case 3: return Compression::xz;
    case 4: return Compression::lzop;
    case 5: return Compression::zstd;
    default: return Compression::none;
  }
}

Result<LibvirtHeader> read_libvirt_header(Bytes file) {
  LibvirtHeader h;
  h.complete = std::memcmp(file.data(), kLibvirtSave, 16) == 0;
  if (file.size() < kLibvirtHeaderSize)
    return make_error(ErrorCode::truncated, 0, "input ends inside the libvirt save image header (92 bytes)");
  // The header is written in host byte order; version 2 tells which.
  std::uint32_t fields[5];
  std::memcpy(fields, file.data() + 16, sizeof fields);
  const bool swap = fields[0] != 2 && __builtin_bswap32(fields[0]) == 2;
  if (swap)
    for (auto& f : fields) f = __builtin_bswap32(f);
  h.big_endian = swap == (std::endian::native == std::endian::little);
  h.version = fields[0];
  h.data_len = fields[1];
  h.was_running = fields[2];
  h.format = fields[3];
  h.cookie_offset = fields[4];
  if (h.version != 2)
    return make_error(ErrorCode::unsupported, 16, "libvirt save image version " + std::to_string(h.version) + " (expected 2)");
  const std::uint64_t data_end = kLibvirtHeaderSize + std::uint64_t{h.data_len};
  if (data_end > file.size())
    return make_error(ErrorCode::truncated, 20,
                      "libvirt save image data_len " + std::to_string(h.data_len) + " runs past the end of the input (" +
                          std::to_string(file.size()) + " bytes)");
  std::string_view data = as_chars(file.subspan(kLibvirtHeaderSize, h.data_len));
  const std::size_t xml_end = std::min(data.find('\0'), data.size());
  h.xml = data.substr(0, xml_end);
  if (h.cookie_offset > 0 && h.cookie_offset < data.size()) {
    std::string_view cookie = data.substr(h.cookie_offset);
    h.cookie = cookie.substr(0, std::min(cookie.find('\0'), cookie.size()));
  }
  return h;
}

// A libvirt save image (either magic): where its stream is.
Result<StreamLocation> locate_in_libvirt_save(Bytes file) {
  MIGSCOPE_ASSIGN(LibvirtHeader h, read_libvirt_header(file));
  const std::uint64_t payload = kLibvirtHeaderSize + std::uint64_t{h.data_len};
  // Raw, or sparse: QEMU wrote the stream into the file itself (mapped-ram
  // offsets are then absolute file offsets, as the walker reads them).
  const bool in_place = h.format == 0 || h.format == 6;
  const Compression c = compression_of_format(h.format);
  if (!in_place && c == Compression::none)
    return make_error(ErrorCode::unsupported, 28,  // the format field
                      "libvirt save image of unknown " + libvirt_format_name(h.format) +
                          " (known: 0 raw, 1 gzip, 2 bzip2, 3 xz, 4 lzop, 5 zstd, 6 sparse)");
  if (payload >= file.size())
    return make_error(ErrorCode::truncated, 20,  // data_len
                      "libvirt save image ends where its stream should start (92 + data_len " + std::to_string(h.data_len) +
                          "): no byte of the stream was written");
  if (in_place) {
    MIGSCOPE_ASSIGN(StreamLocation loc, check_qevm(file, payload, InputFormat::libvirt_save));
    loc.libvirt = h;
    return loc;
  }
  const Compression found = sniff_compression(file.subspan(static_cast<std::size_t>(payload)));
  if (found != c)
    return make_error(ErrorCode::corrupt, payload,
                      "libvirt save image says its stream is " + std::string(compression_name(c)) +
                          "-compressed, but the data at the stream's start is not (" +
                          (found == Compression::none ? std::string("no known compression magic")
                                                      : std::string(compression_name(found)) + " magic") + ")");
  StreamLocation loc;
  loc.format = InputFormat::libvirt_save;
  loc.compression = c;
  loc.payload_offset = payload;
  loc.libvirt = h;
  return loc;
}

}  // namespace

bool file_starts_like_stream(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char head[16] = {};
  const std::size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  if (n >= 4 && std::memcmp(head, "QEVM", 4) == 0) return true;
  return n >= 16 && (std::memcmp(head, kLibvirtSave, 16) == 0 || std::memcmp(head, kLibvirtPart, 16) == 0);
}

std::string_view compression_name(Compression c) noexcept {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::bzip2: return "bzip2";
    case Compression::xz: return "xz";
    case Compression::lzop: return "lzop";
    case Compression::zstd: return "zstd";
  }
  return "unknown";
}

std::string libvirt_format_name(std::uint32_t format) {
  static constexpr const char* kFormats[] = {"raw", "gzip", "bzip2", "xz", "lzop", "zstd", "sparse"};
  return format < std::size(kFormats) ? kFormats[format] : "format " + std::to_string(format);
}

Compression sniff_compression(Bytes head) noexcept {
  auto starts_with = [&](std::string_view magic) {
    return head.size() >= magic.size() && std::memcmp(head.data(), magic.data(), magic.size()) == 0;
  };
  if (starts_with("\x1f\x8b")) return Compression::gzip;
  if (starts_with("BZh")) return Compression::bzip2;
  if (starts_with(std::string_view("\xfd" "7zXZ\0", 6))) return Compression::xz;
  if (starts_with("\x28\xb5\x2f\xfd")) return Compression::zstd;
  // A zstd file may start with a skippable frame (magic 0x184D2A50..5F, little-endian).
  if (head.size() >= 4 && (static_cast<std::uint8_t>(head[0]) & 0xf0) == 0x50 && static_cast<std::uint8_t>(head[1]) == 0x2a &&
      static_cast<std::uint8_t>(head[2]) == 0x4d && static_cast<std::uint8_t>(head[3]) == 0x18)
    return Compression::zstd;
  if (starts_with(std::string_view("\x89LZO\0\r\n\x1a\n", 9))) return Compression::lzop;
  return Compression::none;
}

Result<StreamLocation> locate_stream(Bytes file) {
  if (file.empty()) return make_error(ErrorCode::not_a_stream, 0, "empty file");
  auto starts_with = [&](std::string_view magic) {
    return file.size() >= magic.size() && std::memcmp(file.data(), magic.data(), magic.size()) == 0;
  };
  if (starts_with("\x7f" "ELF"))
    return make_error(ErrorCode::not_a_stream, 0,
                      "ELF file (a guest memory dump from dump-guest-memory or a core file), not a migration stream");
  if (starts_with(kLibvirtSave) || starts_with(kLibvirtPart)) {
    // libvirt writes 'LibvirtQemudPart' first and the real magic once the
    // save completed: a Part image is located like a complete one (its
    // header says complete = false; the operations refuse it or, asked to,
    // read what it holds), and its errors say what it is.
    auto loc = locate_in_libvirt_save(file);
    if (!loc.ok() && starts_with(kLibvirtPart)) {
      Error e = std::move(loc).error();
      e.detail = std::string(kIncompleteSaveText) + ": " + e.detail;
      return e;
    }
    return loc;
  }
  if (file.size() >= 4 && std::memcmp(file.data(), "QFI\xfb", 4) == 0) {
    StreamLocation loc;
    loc.format = InputFormat::qcow2;  // the stream is a snapshot's VM state: Dump::open chooses it
    return loc;
  }
  if (const Compression c = sniff_compression(file); c != Compression::none) {
    StreamLocation loc;
    loc.compression = c;
    return loc;
  }
  return check_qevm(file, 0, InputFormat::qemu_stream);
}

std::string_view input_format_name(InputFormat f) noexcept {
  switch (f) {
    case InputFormat::libvirt_save: return "libvirt-save";
    case InputFormat::qcow2: return "qcow2";
    default: return "qemu";
  }
}

std::string uuid_text(Bytes u) {
  std::string s;
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[static_cast<unsigned char>(u[i]) >> 4];
    s += kHex[static_cast<unsigned char>(u[i]) & 0xf];
  }
  return s;
}

}  // namespace migscope
