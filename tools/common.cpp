#include "common.h"

#include <cstdio>

namespace migscope::tools {

int report_error(std::string_view prog, std::string_view file, const Error& error) {
  std::string line(prog);
  line += ": ";
  if (!file.empty()) {
    line += file;
    line += ": ";
  }
  line += error.message();
  // One line, always: fold any newline a detail might carry.
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "%s\n", line.c_str());
  return exit_code_for(error.code);
}

int report_usage(std::string_view prog, std::string_view message) {
  std::fprintf(stderr, "%.*s: %.*s (try --help)\n", static_cast<int>(prog.size()), prog.data(),
               static_cast<int>(message.size()), message.data());
  return exit_usage;
}

}  // namespace migscope::tools
