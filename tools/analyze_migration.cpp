// analyze-migration: a drop-in for QEMU's scripts/analyze-migration.py.
// Same flags (-f FILE, -d state|desc, -m, -x), same stdout; errors are one
// line on stderr instead of a traceback, and exit 1 like upstream (2 for
// usage errors, like argparse).
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "common.h"
#include "stream_output.h"

namespace {

constexpr const char* kProg = "analyze-migration";
constexpr const char* kUsage = "usage: analyze-migration [-h] -f FILE [-m] [-d DUMP] [-x]\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "%s%s: error: %s\n", kUsage, kProg, message.c_str());
  return 2;
}

void print_help() {
  std::printf(
      "%s\noptions:\n"
      "  -h, --help            show this help message and exit\n"
      "  -f FILE, --file FILE  migration dump to read from\n"
      "  -m, --memory          dump RAM contents as well\n"
      "  -d DUMP, --dump DUMP  what to dump (\"state\" or \"desc\")\n"
      "  -x, --extract         extract contents into individual files\n",
      kUsage);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace migscope::tools;
  install_sigbus_handler(kProg);
  std::string file, dump = "state";
  bool have_file = false, memory = false, extract = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view opt, std::string& out) -> bool {
      // "-f X", "-fX", "--file X", "--file=X"
      if (a == opt) {
        if (i + 1 >= argc) return false;
        out = argv[++i];
        return true;
      }
      out = std::string(a.substr(opt.size() + (opt.size() > 2 && a.size() > opt.size() && a[opt.size()] == '=' ? 1 : 0)));
      return true;
    };
    if (a == "-h" || a == "--help") {
      print_help();
      return 0;
    } else if (a == "-m" || a == "--memory") {
      memory = true;
    } else if (a == "-x" || a == "--extract") {
      extract = true;
    } else if (a == "-f" || a == "--file" || (a.size() > 2 && a.substr(0, 2) == "-f") || a.substr(0, 7) == "--file=") {
      if (!value(a.substr(0, 2) == "--" ? "--file" : "-f", file)) return usage_error("argument -f/--file: expected one argument");
      have_file = true;
    } else if (a == "-d" || a == "--dump" || (a.size() > 2 && a.substr(0, 2) == "-d") || a.substr(0, 7) == "--dump=") {
      if (!value(a.substr(0, 2) == "--" ? "--dump" : "-d", dump)) return usage_error("argument -d/--dump: expected one argument");
    } else {
      return usage_error("unrecognized arguments: " + std::string(a));
    }
  }
  if (!have_file) return usage_error("the following arguments are required: -f/--file");
  if (!extract && dump != "state" && dump != "desc") {
    std::fprintf(stderr, "%s: Please specify either -x, -d state or -d desc\n", kProg);
    return 1;
  }
  StreamArgs args;
  args.prog = kProg;
  args.file = file;
  args.memory = memory;
  args.offers_keep_going = false;
  migscope::ErrorCode rc;
  if (extract) {
    // Upstream extracts into the current directory; existing files are kept.
    ExtractArgs ex;
    ex.dir = ".";
    ex.threads = all_cores();
    ex.upstream_listing = true;
    rc = run_extract(args, ex);
  } else {
    rc = dump == "desc" ? print_desc(args) : print_state(args);
  }
  return rc == migscope::ErrorCode::ok ? 0 : 1;
}
