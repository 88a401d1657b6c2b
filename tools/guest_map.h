// Printing and option parsing for the guest-physical map (vmcore, info).
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "migscope/guest.h"

namespace migscope::tools {

/// "2G", "3072M", "0xc0000000", "4096": bytes, or nullopt.
std::optional<std::uint64_t> parse_bytes(std::string_view text);
/// Fill `out` from the layout options; an error message for bad values.
std::optional<std::string> parse_layout_options(const std::string& machine, const std::string& below,
                                                const std::string& above_start, const std::vector<std::string>& place,
                                                LayoutOverrides& out);
std::string elf_machine_name(std::uint16_t machine);
/// The map as a table, one range per line.
void print_guest_map(std::FILE* f, const GuestLayout& layout);
/// Blocks left out and what was assumed: "PROG: FILE: note: ..." lines on stderr.
void report_layout_remarks(std::string_view prog, std::string_view file, const GuestLayout& layout,
                           const std::vector<std::string>& remarks);

}  // namespace migscope::tools
