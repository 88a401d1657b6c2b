// Constants of the wire format (migration/savevm.h, migration/ram.h).
#pragma once

#include <cstdint>
#include <string_view>

namespace migscope::wire {

inline constexpr std::uint32_t kFileMagic = 0x5145564d;  // "QEVM"
inline constexpr std::uint32_t kFileVersion = 3;

enum SectionType : std::uint8_t {
  kEof = 0x00,
  kSectionStart = 0x01,
  kSectionPart = 0x02,
  kSectionEnd = 0x03,
  kSectionFull = 0x04,
  kSubsection = 0x05,
  kVmdescription = 0x06,
  kConfiguration = 0x07,
  kCommand = 0x08,
  kSectionFooter = 0x7e,
};

enum CommandId : std::uint16_t {
  kCmdInvalid = 0,
  kCmdOpenReturnPath = 1,
  kCmdPing = 2,
  kCmdPostcopyAdvise = 3,
  kCmdPostcopyListen = 4,
  kCmdPostcopyRun = 5,
  kCmdPostcopyRamDiscard = 6,
  kCmdPackaged = 7,
  kCmdEnableColo = 8,
  kCmdPostcopyResume = 9,
  kCmdRecvBitmap = 10,
  kCmdSwitchoverStart = 11,
  kCmdMax,
};

enum RamFlag : std::uint32_t {
  kRamFull = 0x001,
  kRamZero = 0x002,
  kRamMemSize = 0x004,
  kRamPage = 0x008,
  kRamEos = 0x010,
  kRamContinue = 0x020,
  kRamXbzrle = 0x040,
  kRamHook = 0x080,
  kRamCompressPage = 0x100,
  kRamMultifdFlush = 0x200,
};

std::string_view section_type_name(std::uint8_t type) noexcept;
std::string_view command_name(std::uint16_t cmd) noexcept;

}  // namespace migscope::wire
