// migscope: dispatch to one subcommand per file.
#include <cstdio>

#include "migscope/version.h"
#include <cstring>
#include <new>
#include <string_view>

#include "common.h"
#include "sinks/page_hasher.h"
#include "subcommands.h"

namespace {

struct Subcommand {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

constexpr Subcommand kSubcommands[] = {
    {"info", migscope::tools::cmd_info, "format, machine, capabilities, sections and RAM blocks of a stream"},
    {"state", migscope::tools::cmd_state, "device state as JSON (upstream analyze-migration -d state)"},
    {"desc", migscope::tools::cmd_desc, "the vmdesc trailer as JSON (upstream analyze-migration -d desc)"},
    {"hash", migscope::tools::cmd_hash, "XXH3 of the final content of every RAM page, JSON Lines"},
    {"extract", migscope::tools::cmd_extract, "RAM blocks to sparse files, plus desc.json and state.json"},
    {"check", migscope::tools::cmd_check, "vmstate static checker: compare two -dump-vmstate files or streams"},
    {"vmcore", migscope::tools::cmd_vmcore, "guest-physical memory as an ELF core (crash, gdb) or a flat image"},
    {"diff", migscope::tools::cmd_diff, "compare two dumps: device state field by field, RAM page by page"},
    {"report", migscope::tools::cmd_report, "one self-contained HTML page: summary, sections, RAM pictures, state tree"},
    {"cat", migscope::tools::cmd_cat, "the bare QEMU stream inside any input (libvirt save, compressed, qcow2 snapshot)"},
    {"snapshots", migscope::tools::cmd_snapshots, "the internal snapshots of a qcow2 image (--snapshot picks one elsewhere)"},
};

void print_help(FILE* out) {
  std::fprintf(out, "usage: migscope <subcommand> [options] ...\n\nsubcommands:\n");
  for (const auto& s : kSubcommands) std::fprintf(out, "  %-9s %s\n", s.name, s.summary);
  std::fprintf(out, "\n'migscope <subcommand> --help' describes each one; FILE may be '-' for standard input,\n"
                   "and any input may be a bare stream, a libvirt save (any format), a compressed dump or a\n"
                   "qcow2 image (--snapshot ID).\n\nexample: migscope info saved.mig\n\n%s",
               migscope::tools::kExitCodeHelp);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_help(stderr);
    return migscope::tools::exit_usage;
  }
  migscope::tools::install_sigbus_handler("migscope");
  std::string_view sub = argv[1];
  if (sub == "-h" || sub == "--help" || sub == "help") {
    print_help(stdout);
    return 0;
  }
  if (sub == "--version" || sub == "-V") {
    std::printf("migscope %s (XXH3 via libxxhash dispatch: %.*s)\n", MIGSCOPE_VERSION,
                static_cast<int>(migscope::xxh3_simd_level().size()), migscope::xxh3_simd_level().data());
    return 0;
  }
  // `migscope SUB --version` is the version too, for every subcommand.
  for (int i = 2; i < argc; ++i)
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("migscope %s (XXH3 via libxxhash dispatch: %.*s)\n", MIGSCOPE_VERSION,
                  static_cast<int>(migscope::xxh3_simd_level().size()), migscope::xxh3_simd_level().data());
      return 0;
    }
  for (const auto& s : kSubcommands)
    if (sub == s.name) {
      try {
        return s.run(argc - 1, argv + 1);
      } catch (const std::bad_alloc&) {
        // Sizes read from the input are bounded, but memory can still run out.
        std::fprintf(stderr, "migscope %s: out of memory (the input describes more than this machine can hold)\n", s.name);
        return migscope::tools::exit_unsupported;
      }
    }
  return migscope::tools::report_usage("migscope", "unknown subcommand '" + std::string(sub) + "'");
}
