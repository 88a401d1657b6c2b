// A small writer of synthetic QEMU migration streams for tests: header,
// configuration with subsections, commands (incl. PACKAGED), START/PART/END/FULL
// sections with optional footers, RAM records and the vmdesc trailer. Every
// method appends bytes exactly as QEMU writes them (format.md); nothing is
// checked, so tests can build broken streams just as easily as good ones.
// Header-only on purpose: tests/CMakeLists.txt globs only *_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/cursor.h"

namespace migscope::test {

class StreamBuilder {
 public:
  // ---- raw bytes ----
  StreamBuilder& u8(std::uint8_t v) {
    bytes_.push_back(std::byte{v});
    return *this;
  }
  StreamBuilder& be16(std::uint16_t v) { return u8(static_cast<std::uint8_t>(v >> 8)).u8(static_cast<std::uint8_t>(v)); }
  StreamBuilder& be32(std::uint32_t v) {
    return be16(static_cast<std::uint16_t>(v >> 16)).be16(static_cast<std::uint16_t>(v));
  }
  StreamBuilder& be64(std::uint64_t v) {
    return be32(static_cast<std::uint32_t>(v >> 32)).be32(static_cast<std::uint32_t>(v));
  }
  StreamBuilder& raw(std::string_view s) {
    for (char ch : s) u8(static_cast<std::uint8_t>(ch));
    return *this;
  }
  StreamBuilder& raw(std::span<const std::byte> b) {
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }
  StreamBuilder& fill(std::size_t n, std::uint8_t v) {
    bytes_.insert(bytes_.end(), n, std::byte{v});
    return *this;
  }
  /// QEMU's counted string: u8 length + bytes, no NUL.
  StreamBuilder& counted(std::string_view s) {
    u8(static_cast<std::uint8_t>(s.size()));
    return raw(s);
  }

  // ---- header and configuration ----
  StreamBuilder& header(std::uint32_t magic = 0x5145564d, std::uint32_t version = 3) { return be32(magic).be32(version); }
  /// 0x07, be32 len, machine name; subsections follow with the config_* calls.
  StreamBuilder& configuration(std::string_view machine) {
    u8(0x07).be32(static_cast<std::uint32_t>(machine.size()));
    return raw(machine);
  }
  /// A subsection header: 0x05, counted name, be32 version (the body follows).
  StreamBuilder& subsection(std::string_view name, std::uint32_t version = 1) { return u8(0x05).counted(name).be32(version); }
  StreamBuilder& config_capabilities(std::initializer_list<std::string_view> caps) {
    subsection("configuration/capabilities").be32(static_cast<std::uint32_t>(caps.size()));
    for (auto c : caps) counted(c);
    return *this;
  }
  StreamBuilder& config_target_page_bits(std::uint32_t bits) {
    return subsection("configuration/target-page-bits").be32(bits);
  }
  StreamBuilder& config_uuid(std::uint8_t first_byte) {
    subsection("configuration/uuid");
    for (std::uint8_t i = 0; i < 16; ++i) u8(static_cast<std::uint8_t>(first_byte + i));
    return *this;
  }

  // ---- commands ----
  StreamBuilder& command(std::uint16_t cmd, std::span<const std::byte> payload = {}) {
    u8(0x08).be16(cmd).be16(static_cast<std::uint16_t>(payload.size()));
    return raw(payload);
  }
  StreamBuilder& command_raw(std::uint16_t cmd, const StreamBuilder& payload) { return command(cmd, payload.bytes()); }
  StreamBuilder& open_return_path() { return command(1); }
  StreamBuilder& ping(std::uint32_t value) { return command_raw(2, StreamBuilder().be32(value)); }
  StreamBuilder& postcopy_advise(std::uint64_t page_sizes, std::uint64_t target_page_size) {
    return command_raw(3, StreamBuilder().be64(page_sizes).be64(target_page_size));
  }
  StreamBuilder& postcopy_listen() { return command(4); }
  StreamBuilder& postcopy_run() { return command(5); }
  /// MIG_CMD_PACKAGED: be32 length in the command, then the blob outside it.
  StreamBuilder& packaged(const StreamBuilder& blob) {
    command_raw(7, StreamBuilder().be32(static_cast<std::uint32_t>(blob.size())));
    return raw(blob.bytes());
  }

  // ---- sections ----
  StreamBuilder& section_start(std::uint32_t id, std::string_view name, std::uint32_t instance = 0, std::uint32_t version = 1) {
    return u8(0x01).be32(id).counted(name).be32(instance).be32(version);
  }
  StreamBuilder& section_full(std::uint32_t id, std::string_view name, std::uint32_t instance = 0, std::uint32_t version = 1) {
    return u8(0x04).be32(id).counted(name).be32(instance).be32(version);
  }
  StreamBuilder& section_part(std::uint32_t id) { return u8(0x02).be32(id); }
  StreamBuilder& section_end(std::uint32_t id) { return u8(0x03).be32(id); }
  StreamBuilder& footer(std::uint32_t id) { return u8(0x7e).be32(id); }
  StreamBuilder& eof() { return u8(0x00); }
  /// 0x06, be32 length, JSON (runs to the end of the file).
  StreamBuilder& vmdesc(std::string_view json) {
    u8(0x06).be32(static_cast<std::uint32_t>(json.size()));
    return raw(json);
  }

  // ---- RAM records (page size `kPage` unless told otherwise) ----
  static constexpr std::uint64_t kPage = 4096;
  struct Block {
    std::string name;
    std::uint64_t length;
    std::optional<std::uint64_t> gpa = std::nullopt;        ///< x-ignore-shared
    std::optional<std::uint64_t> page_size = std::nullopt;  ///< postcopy per-block page size
  };
  StreamBuilder& ram_mem_size(std::initializer_list<Block> blocks) {
    std::uint64_t total = 0;
    for (const auto& b : blocks) total += b.length;
    be64(total | 0x04);
    for (const auto& b : blocks) {
      counted(b.name).be64(b.length);
      if (b.page_size) be64(*b.page_size);
      if (b.gpa) be64(*b.gpa);
    }
    return *this;
  }
  /// A record header plus the block name unless `block` is empty (CONTINUE).
  StreamBuilder& ram_header(std::uint64_t addr, std::uint32_t flags, std::string_view block) {
    if (block.empty()) flags |= 0x20;
    be64(addr | flags);
    if (!block.empty()) counted(block);
    return *this;
  }
  StreamBuilder& ram_zero(std::uint64_t addr, std::string_view block, std::uint8_t fill_byte = 0) {
    return ram_header(addr, 0x02, block).u8(fill_byte);
  }
  StreamBuilder& ram_page(std::uint64_t addr, std::string_view block, std::uint8_t fill_byte = 0xab,
                          std::uint64_t page = kPage) {
    ram_header(addr, 0x08, block);
    return fill(static_cast<std::size_t>(page), fill_byte);
  }
  StreamBuilder& ram_xbzrle(std::uint64_t addr, std::string_view block, std::span<const std::byte> enc) {
    ram_header(addr, 0x40, block).u8(0x01).be16(static_cast<std::uint16_t>(enc.size()));
    return raw(enc);
  }
  StreamBuilder& ram_compress(std::uint64_t addr, std::string_view block, std::span<const std::byte> zdata) {
    ram_header(addr, 0x100, block).be32(static_cast<std::uint32_t>(zdata.size()));
    return raw(zdata);
  }
  StreamBuilder& ram_multifd_flush() { return be64(0x200); }
  StreamBuilder& ram_eos() { return be64(0x10); }

  // ---- results ----
  std::span<const std::byte> bytes() const noexcept { return bytes_; }
  std::vector<std::byte>& vec() noexcept { return bytes_; }
  std::size_t size() const noexcept { return bytes_.size(); }
  /// Current length = the file offset the next byte will get.
  std::uint64_t offset() const noexcept { return bytes_.size(); }
  std::string str() const { return std::string(reinterpret_cast<const char*>(bytes_.data()), bytes_.size()); }

 private:
  std::vector<std::byte> bytes_;
};

/// Bytes from a string literal (may contain NULs when given an explicit length).
inline std::vector<std::byte> to_bytes(std::string_view s) {
  std::vector<std::byte> v(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) v[i] = static_cast<std::byte>(s[i]);
  return v;
}

}  // namespace migscope::test
