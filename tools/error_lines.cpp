// The one-line error and usage messages every executable prints (apart from
// the option parsing of tools/common.cpp, so that the drop-in checker links
// only what it uses).
#include "error_lines.h"

#include <cstdio>

namespace migscope::tools {

std::string with_remedy(std::string text, Remedy remedy) {
  switch (remedy) {
    case Remedy::none: break;
    case Remedy::give_description: text += " (give --vmdesc FILE)"; break;
    case Remedy::allow_overwrite: text += " (use --force to replace it)"; break;
    case Remedy::keep_going: text += " (use --keep-going to show what it holds)"; break;
  }
  return text;
}

int report_error(std::string_view prog, std::string_view file, const Error& error) {
  std::string line(prog);
  line += ": ";
  if (!file.empty()) {
    line += file;
    line += ": ";
  }
  line += with_remedy(error.message(), error.remedy);
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
