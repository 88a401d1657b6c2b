#include "stream/format.h"

namespace migscope::wire {

std::string_view section_type_name(std::uint8_t type) noexcept {
  switch (type) {
    case kEof: return "EOF";
    case kSectionStart: return "SECTION_START";
    case kSectionPart: return "SECTION_PART";
    case kSectionEnd: return "SECTION_END";
    case kSectionFull: return "SECTION_FULL";
    case kSubsection: return "SUBSECTION";
    case kVmdescription: return "VMDESCRIPTION";
    case kConfiguration: return "CONFIGURATION";
    case kCommand: return "COMMAND";
    case kSectionFooter: return "SECTION_FOOTER";
    default: return "unknown";
  }
}

std::string_view command_name(std::uint16_t cmd) noexcept {
  switch (cmd) {
    case kCmdOpenReturnPath: return "OPEN_RETURN_PATH";
    case kCmdPing: return "PING";
    case kCmdPostcopyAdvise: return "POSTCOPY_ADVISE";
    case kCmdPostcopyListen: return "POSTCOPY_LISTEN";
    case kCmdPostcopyRun: return "POSTCOPY_RUN";
    case kCmdPostcopyRamDiscard: return "POSTCOPY_RAM_DISCARD";
    case kCmdPackaged: return "PACKAGED";
    case kCmdEnableColo: return "ENABLE_COLO";
    case kCmdPostcopyResume: return "POSTCOPY_RESUME";
    case kCmdRecvBitmap: return "RECV_BITMAP";
    case kCmdSwitchoverStart: return "SWITCHOVER_START";
    default: return "unknown";
  }
}

}  // namespace migscope::wire
