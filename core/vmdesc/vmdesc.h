// The vmdesc: QEMU's JSON description of the device sections of a stream (the
// trailer after EOF, or a file given with --vmdesc). Parsed once, checked once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <rapidjson/document.h>

#include "migscope/events.h"
#include "migscope/error.h"
#include "wire/cursor.h"

namespace migscope {

/// The public, opaque handle of a device description is its JSON object.
inline const DeviceDescription* as_description(const rapidjson::Value* v) noexcept {
  return reinterpret_cast<const DeviceDescription*>(v);
}
inline const rapidjson::Value& description_json(const DeviceDescription& d) noexcept {
  return *reinterpret_cast<const rapidjson::Value*>(&d);
}

/// Where the trailer sits: `offset` is the 0x06 byte, `json` runs to the end of the input.
struct VmdescTrailer {
  std::uint64_t offset = 0;
  std::string_view json;
};

/// Find the trailer exactly: a 0x06 byte followed by a be32 length that reaches
/// the end of the input and a JSON object. `stream` starts at file offset
/// `stream_offset`. Looks at most `window` bytes back from the end.
std::optional<VmdescTrailer> find_vmdesc_trailer(Bytes stream, std::uint64_t stream_offset,
                                                 std::uint64_t window = 64ull << 20);

class Vmdesc {
 public:
  /// Parse and check the description. `offset` is where the JSON starts in its
  /// file (for messages); pass Error::no_offset for a separate file.
  static Result<Vmdesc> parse(std::string_view json, std::uint64_t offset);

  Vmdesc(Vmdesc&&) noexcept = default;
  Vmdesc& operator=(Vmdesc&&) noexcept = default;

  const rapidjson::Value& root() const noexcept { return *doc_; }
  /// The description as JSON text, as `desc` prints it (for comparing two of them).
  std::string text() const;
  /// "page_size" of the description (target page size), if present.
  std::optional<std::uint64_t> page_size() const noexcept { return page_size_; }
  /// The description of the device section (idstr, instance), or null; the last
  /// of duplicates wins, as upstream.
  const rapidjson::Value* device(std::string_view name, std::uint32_t instance) const;
  /// The "configuration" object (QEMU >= 8.2), or null.
  const rapidjson::Value* configuration() const noexcept { return configuration_; }
  std::size_t device_count() const noexcept { return devices_.size(); }

 private:
  Vmdesc() = default;
  struct KeyHash {
    std::size_t operator()(const std::pair<std::string_view, std::uint32_t>& k) const noexcept {
      return std::hash<std::string_view>{}(k.first) * 31u + k.second;
    }
  };
  std::unique_ptr<rapidjson::Document> doc_;
  std::optional<std::uint64_t> page_size_;
  const rapidjson::Value* configuration_ = nullptr;
  std::unordered_map<std::pair<std::string_view, std::uint32_t>, const rapidjson::Value*, KeyHash> devices_;
};

}  // namespace migscope
