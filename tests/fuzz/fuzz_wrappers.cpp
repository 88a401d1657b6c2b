// libFuzzer target: the wrapper readers of core/input/, what Dump::open runs
// before a stream is walked.
//  1. locate_stream. A libvirt header (either magic) must give the same answer
//     with its fields in the other byte order; its domain XML and cookie go
//     through summarize_domain_xml (so does an input that starts with '<').
//  2. A qcow2 image: read_qcow2, choose_snapshot (none named, each id, each
//     name, a missing one), and the VM state of the first snapshots through
//     open_vmstate, read to its end or its error (bounded), twice in chunk
//     sizes the input picks: the same bytes and the same error both times.
//  3. A compressed input (a libvirt payload or a whole file): make_decompressor
//     of the compression located, read to its end or its error (bounded); then
//     every other kind over the first bytes, which must fail cleanly or read.
// Errors must be clean values (fuzz_common.h) and must stay.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "input/decompress.h"
#include "input/qcow2.h"
#include "migscope/input.h"

namespace {

using namespace migscope;

// Far more than a fuzz input honestly describes, far less than a timeout.
// (A few MiB already cover every cluster and block kind many times over.)
constexpr std::uint64_t kMaxDecompressed = 8u << 20;
constexpr std::uint64_t kMaxVmstate = 2u << 20;
constexpr std::size_t kSnapshotsRead = 3;
constexpr std::size_t kOtherKindsPrefix = 64u << 10;

constexpr std::initializer_list<ErrorCode> kLocateErrors = {ErrorCode::not_a_stream, ErrorCode::truncated,
                                                            ErrorCode::unsupported, ErrorCode::corrupt};
constexpr std::initializer_list<ErrorCode> kReadErrors = {ErrorCode::corrupt, ErrorCode::truncated,
                                                          ErrorCode::unsupported};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

void check_domain_xml(std::string_view xml, std::uint64_t size) {
  auto d = summarize_domain_xml(xml);
  if (!d.ok()) fuzz::check_error(d.error(), size, {ErrorCode::corrupt});
}

// What a reader gives: its bytes (up to a bound), and how it ended.
using fuzz::Drained;

Drained drain(SequentialReader& r, std::uint64_t limit, std::size_t max_chunk, std::uint8_t pick, std::uint64_t size) {
  return fuzz::drain(r, limit, max_chunk, pick, size, kReadErrors);  // at most 4096 read calls
}

// The same header with its five u32 fields in the other byte order.
std::vector<std::uint8_t> swap_libvirt_header(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> copy(data, data + size);
  for (std::size_t at = 16; at + 4 <= 36 && at + 4 <= size; at += 4) std::reverse(copy.begin() + at, copy.begin() + at + 4);
  return copy;
}

void check_libvirt_both_orders(const std::uint8_t* data, std::size_t size, const Result<StreamLocation>& loc) {
  const std::vector<std::uint8_t> other = swap_libvirt_header(data, size);
  const Bytes other_file{reinterpret_cast<const std::byte*>(other.data()), other.size()};
  auto o = locate_stream(other_file);
  if (loc.ok() != o.ok()) die("a libvirt header reads differently in the other byte order");
  if (!loc.ok()) {
    fuzz::check_error(o.error(), size, kLocateErrors);
    if (loc.error().code != o.error().code || loc.error().offset != o.error().offset)
      die("a libvirt header fails differently in the other byte order");
    return;
  }
  if (loc->format != o->format || loc->compression != o->compression || loc->payload_offset != o->payload_offset ||
      loc->stream_offset != o->stream_offset || loc->libvirt.has_value() != o->libvirt.has_value())
    die("a libvirt header locates the stream elsewhere in the other byte order");
  if (!loc->libvirt) return;
  const LibvirtHeader &a = *loc->libvirt, &b = *o->libvirt;
  if (a.big_endian == b.big_endian || a.complete != b.complete || a.version != b.version || a.data_len != b.data_len ||
      a.was_running != b.was_running || a.format != b.format || a.cookie_offset != b.cookie_offset ||
      a.xml.size() != b.xml.size() || a.cookie.size() != b.cookie.size())
    die("a libvirt header's fields differ in the other byte order");
}

void read_qcow2_image(const std::uint8_t* data, std::size_t size) {
  const Bytes file{reinterpret_cast<const std::byte*>(data), size};
  auto image = read_qcow2(file);
  if (!image.ok()) {
    fuzz::check_error(image.error(), size, kLocateErrors);
    return;
  }
  for (const Qcow2Snapshot& sn : image->snapshots) {
    if (sn.entry_offset > size) die("a snapshot entry beyond the input");
  }
  auto check_choice = [&](std::string_view which) {
    auto c = choose_snapshot(*image, which);
    if (!c.ok()) fuzz::check_error(c.error(), size, {ErrorCode::usage});
    return c;
  };
  (void)check_choice("");
  (void)check_choice(std::string_view("\x01no such snapshot", 17));
  const std::uint8_t pick = size ? data[size - 1] : 0;
  const std::size_t n = std::min(image->snapshots.size(), kSnapshotsRead);
  for (std::size_t i = 0; i < n; ++i) {
    const Qcow2Snapshot& sn = image->snapshots[i];
    // (An empty id or name cannot be named: "" asks for the only one with a VM state.)
    if (!sn.id.empty()) {
      auto by_id = check_choice(sn.id);
      if (!by_id.ok() || (*by_id)->id != sn.id) die("a snapshot is not found by its id");
    }
    if (!sn.name.empty() && !check_choice(sn.name).ok()) die("a snapshot is not found by its name");
    // Two readers, two chunkings: the same bytes, the same end.
    // (The input is libFuzzer's memory, not a file mapping: nothing is released.)
    auto a = open_vmstate(file, *image, sn, "a", /*release_behind=*/false);
    auto b = open_vmstate(file, *image, sn, "b", /*release_behind=*/false);
    fuzz::drain_twice(*a, *b, kMaxVmstate, pick, size, kReadErrors, sn.vm_state_size);
  }
}

void decompress(Bytes payload, Compression kind, std::uint64_t offset, std::uint64_t size, std::uint8_t pick,
                std::uint64_t limit) {
  auto reader = make_decompressor(payload, kind, "fuzz", offset, /*release_behind=*/false);
  if (!reader.ok()) {
    fuzz::check_error(reader.error(), size, kReadErrors);
    return;
  }
  (void)drain(**reader, limit, 1u << 16, pick, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes file{reinterpret_cast<const std::byte*>(data), size};
  const std::uint8_t pick = size ? data[size - 1] : 0;
  auto loc = locate_stream(file);
  if (size >= 16 && (std::memcmp(data, "LibvirtQemudSave", 16) == 0 || std::memcmp(data, "LibvirtQemudPart", 16) == 0))
    check_libvirt_both_orders(data, size, loc);
  if (!loc.ok()) {
    fuzz::check_error(loc.error(), size, kLocateErrors);
    if (size > 0 && data[0] == '<') check_domain_xml(as_chars(file), size);
    return 0;
  }
  if (loc->payload_offset > size || loc->stream_offset > size) die("the stream located beyond the input");
  if (loc->libvirt) {
    const LibvirtHeader& h = *loc->libvirt;
    if (h.xml.size() > size || h.cookie.size() > size) die("the domain XML beyond the input");
    check_domain_xml(h.xml, size);
    if (!h.cookie.empty()) check_domain_xml(h.cookie, size);
  }
  if (loc->format == InputFormat::qcow2) {
    if (!starts_like_qcow2(file)) die("a qcow2 image without the qcow2 magic");
    read_qcow2_image(data, size);
    return 0;
  }
  if (loc->compression == Compression::none) return 0;
  if (sniff_compression(file.subspan(static_cast<std::size_t>(loc->payload_offset))) != loc->compression)
    die("the compression located is not the one the payload's magic says");
  const Bytes payload = file.subspan(static_cast<std::size_t>(loc->payload_offset));
  decompress(payload, loc->compression, loc->payload_offset, size, pick, kMaxDecompressed);
  // Every other decompressor over the same bytes (short of them: what a
  // wrong header would hand it) fails cleanly.
  const Bytes prefix = payload.first(std::min(payload.size(), kOtherKindsPrefix));
  for (Compression other : {Compression::gzip, Compression::bzip2, Compression::xz, Compression::lzop, Compression::zstd})
    if (other != loc->compression) decompress(prefix, other, loc->payload_offset, size, pick, 1u << 20);
  return 0;
}
