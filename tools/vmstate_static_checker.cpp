// vmstate-static-checker: drop-in for QEMU's scripts/vmstate-static-checker.py
// (QEMU 10.2, blob 89b100e6cc). Same flags, same stdout byte for byte, same
// exit status: the number of problems found, saturated at 255, with upstream's
// counting quirks (see include/migscope/compat.h). Command-line errors mimic
// argparse (usage line + "error: ..." on stderr, exit 2).
//
// Where upstream dies with a Python traceback (unreadable file, malformed
// JSON, a key of the wrong type) this prints one error line naming the file
// and JSON path and exits 1, the status Python gives an uncaught exception.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "error_lines.h"
#include "migscope/ops.h"

namespace {

constexpr const char* kProg = "vmstate-static-checker";
constexpr const char* kUsage = "usage: vmstate-static-checker [-h] -s SRC -d DEST [--reverse]\n";
constexpr const char* kHelp =
    "\n"
    "Parse JSON-formatted vmstate dumps from QEMU in files SRC and DEST. Checks\n"
    "whether migration from SRC to DEST QEMU versions would break based on the\n"
    "VMSTATE information contained within the JSON outputs. The JSON output is\n"
    "created from a QEMU invocation with the -dump-vmstate parameter and a filename\n"
    "argument to it. Other parameters to QEMU do not matter, except the -M (machine\n"
    "type) parameter.\n"
    "\n"
    "options:\n"
    "  -h, --help            show this help message and exit\n"
    "  -s SRC, --src SRC     json dump from src qemu\n"
    "  -d DEST, --dest DEST  json dump from dest qemu\n"
    "  --reverse             reverse the direction\n";

constexpr int kExitException = 1;  // what Python returns for an uncaught exception

int usage_error(const std::string& message) {
  std::fputs(kUsage, stderr);
  std::fprintf(stderr, "%s: error: %s\n", kProg, message.c_str());
  return migscope::tools::exit_usage;
}

struct Args {
  std::string src, dest;
  bool have_src = false, have_dest = false, reverse = false, help = false;
};

enum class Opt { none, help, src, dest, reverse };

// argparse's option matching: exact, or an unambiguous prefix of a long option.
Opt match_option(std::string_view name) {
  if (name == "-h") return Opt::help;
  if (name == "-s") return Opt::src;
  if (name == "-d") return Opt::dest;
  if (name.size() < 3 || name.substr(0, 2) != "--") return Opt::none;
  struct Long {
    std::string_view name;
    Opt opt;
  };
  static constexpr Long kLong[] = {{"--help", Opt::help}, {"--src", Opt::src}, {"--dest", Opt::dest},
                                   {"--reverse", Opt::reverse}};
  Opt found = Opt::none;
  for (const auto& l : kLong) {
    if (l.name == name) return l.opt;
    if (l.name.substr(0, name.size()) == name) found = l.opt;  // first letters are unique
  }
  return found;
}

const char* display_name(Opt o) {
  switch (o) {
    case Opt::src: return "-s/--src";
    case Opt::dest: return "-d/--dest";
    case Opt::reverse: return "--reverse";
    case Opt::help: return "-h/--help";
    case Opt::none: break;
  }
  return "";
}

// Returns -1 to continue, or an exit status.
int parse_args(int argc, char** argv, Args& args) {
  std::vector<std::string> extras;
  bool only_positionals = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool looks_like_option = !only_positionals && arg.size() > 1 && arg[0] == '-';
    if (!looks_like_option) {
      extras.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positionals = true;
      continue;
    }
    std::string name = arg;
    std::string value;
    bool attached = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      attached = true;
    }
    Opt opt = match_option(name);
    if (opt == Opt::none && !attached && arg.size() > 2 && arg[1] != '-') {
      // "-sFILE": a short option with its value attached.
      opt = match_option(arg.substr(0, 2));
      if (opt == Opt::src || opt == Opt::dest) {
        value = arg.substr(2);
        attached = true;
      } else {
        opt = Opt::none;
      }
    }
    switch (opt) {
      case Opt::none: extras.push_back(arg); break;
      case Opt::help:
        if (attached) return usage_error("argument -h/--help: ignored explicit argument '" + value + "'");
        args.help = true;
        return -1;
      case Opt::reverse:
        if (attached) return usage_error("argument --reverse: ignored explicit argument '" + value + "'");
        args.reverse = true;
        break;
      case Opt::src:
      case Opt::dest: {
        if (!attached) {
          // The next word is the value unless it looks like an option ("-" alone is a value).
          if (i + 1 >= argc || (std::string_view(argv[i + 1]).size() > 1 && argv[i + 1][0] == '-'))
            return usage_error(std::string("argument ") + display_name(opt) + ": expected one argument");
          value = argv[++i];
        }
        if (opt == Opt::src) {
          args.src = value;
          args.have_src = true;
        } else {
          args.dest = value;
          args.have_dest = true;
        }
        break;
      }
    }
  }
  if (!args.have_src || !args.have_dest) {
    std::string missing;
    if (!args.have_src) missing = "-s/--src";
    if (!args.have_dest) missing += missing.empty() ? "-d/--dest" : ", -d/--dest";
    return usage_error("the following arguments are required: " + missing);
  }
  if (!extras.empty()) {
    std::string joined;
    for (const auto& e : extras) joined += (joined.empty() ? "" : " ") + e;
    return usage_error("unrecognized arguments: " + joined);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (int rc = parse_args(argc, argv, args); rc >= 0) return rc;
  if (args.help) {
    std::fputs(kUsage, stdout);
    std::fputs(kHelp, stdout);
    return 0;
  }
  auto [src, dest] = migscope::ops::load_plain_vmstate_dump_pair(args.src, args.dest, /*lenient=*/true);
  if (!src.ok()) {
    migscope::tools::report_error(kProg, args.src, src.error());
    return kExitException;
  }
  if (!dest.ok()) {
    migscope::tools::report_error(kProg, args.dest, dest.error());
    return kExitException;
  }
  auto renames = migscope::ops::builtin_renames(true);
  if (!renames.ok()) {
    migscope::tools::report_error(kProg, "built-in renames.json", renames.error());
    return migscope::tools::exit_internal;
  }
  migscope::ops::VmstateInput src_input{std::move(src).value(), false}, dest_input{std::move(dest).value(), false};
  migscope::ops::CheckOptions options;
  options.reverse = args.reverse;
  auto checked = migscope::ops::check(src_input, dest_input, *renames, options);
  if (!checked.ok()) {
    migscope::tools::report_error(kProg, "", checked.error());
    return kExitException;
  }
  const auto& report = checked.value();
  std::string out = report.upstream_output();
  if (!out.empty() && std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) return kExitException;
  if (std::fflush(stdout) != 0) return kExitException;
  return report.upstream_exit_status();
}
