#include "common.h"

#include "migscope/ops.h"

#include "progress.h"

#include <algorithm>
#include <csignal>
#include <iostream>
#include <cstdio>
#include <cstring>
#include <thread>
#include <unistd.h>

namespace migscope::tools {

boost::program_options::options_description common_options() {
  namespace po = boost::program_options;
  po::options_description common("common options");
  common.add_options()
      ("progress", po::bool_switch(&chattiness().progress),
       "show progress on stderr even when it is not a terminal (default: only on a terminal)")
      ("quiet,q", po::bool_switch(&chattiness().quiet), "no progress, notes or warnings on stderr (errors still print)")
      ("strict", po::bool_switch(&strict_reading()),
       "refuse what would be a recovery with a warning (a section end guessed, a section shown as opaque bytes "
       "because it does not match its description): exit 5 instead");
  return common;
}

bool& strict_reading() {
  static bool strict = false;
  return strict;
}

OpenOptions open_options(std::string vmdesc_path, std::string snapshot) {
  OpenOptions o;
  o.vmdesc_path = std::move(vmdesc_path);
  o.snapshot = std::move(snapshot);
  o.strict = strict_reading();
  return o;
}

std::optional<int> parse_command_line(int argc, char** argv, std::string_view prog,
                                      const boost::program_options::options_description& opts, std::string& file,
                                      boost::program_options::variables_map* vm) {
  namespace po = boost::program_options;
  po::options_description hidden;
  hidden.add_options()("file", po::value(&file));
  po::positional_options_description pos;
  pos.add("file", 1);
  const po::options_description common = common_options();
  po::options_description all;
  all.add(opts).add(common).add(hidden);
  po::variables_map local;
  po::variables_map& map = vm ? *vm : local;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), map);
    po::notify(map);
  } catch (const po::too_many_positional_options_error&) {
    return report_usage(prog, "takes one FILE; more were given");
  } catch (const po::error& e) {
    return report_usage(prog, e.what());
  }
  if (map.count("help")) {
    std::cout << opts << "\n" << common << "\n" << kExitCodeHelp;
    return exit_ok;
  }
  // -j 0 is no thread count: refused, not read as "all cores" (the default).
  if (map.count("threads") && map["threads"].as<unsigned>() == 0)
    return report_usage(prog, "--threads must be between 1 and 256 (default: all cores)");
  if (file.empty()) return report_usage(prog, "missing FILE");
  return std::nullopt;
}

namespace {

char g_sigbus_message[256];
std::size_t g_sigbus_length = 0;
char g_interrupt_message[2][160];  // SIGINT, SIGTERM
std::size_t g_interrupt_length[2] = {0, 0};

extern "C" void on_sigbus(int) {
  // Only async-signal-safe calls here.
  ops::remove_partial_outputs();
  ssize_t ignored = ::write(STDERR_FILENO, g_sigbus_message, g_sigbus_length);
  (void)ignored;
  ::_exit(exit_corrupt);
}

extern "C" void on_interrupt(int sig) {
  // Outputs are unnamed until committed; what has a name (directories made
  // for them, temporary files where the file system has no unnamed ones)
  // goes, then the shell's status for death by this signal.
  ops::remove_partial_outputs();
  const int i = sig == SIGINT ? 0 : 1;
  ssize_t ignored = ::write(STDERR_FILENO, g_interrupt_message[i], g_interrupt_length[i]);
  (void)ignored;
  ::_exit(128 + sig);
}

}  // namespace

void install_sigbus_handler(const char* prog) {
  std::snprintf(g_sigbus_message, sizeof g_sigbus_message,
                "%s: truncated: the input file shrank while it was being read (SIGBUS on the mapping); "
                "no output was written\n",
                prog);
  g_sigbus_length = std::strlen(g_sigbus_message);
  struct sigaction sa {};
  sa.sa_handler = on_sigbus;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, nullptr);
  // SIGINT and SIGTERM likewise leave nothing that looks like output.
  const int signals[2] = {SIGINT, SIGTERM};
  for (int i = 0; i < 2; ++i) {
    std::snprintf(g_interrupt_message[i], sizeof g_interrupt_message[i], "%s: interrupted (%s); no output was written\n",
                  prog, i == 0 ? "SIGINT" : "SIGTERM");
    g_interrupt_length[i] = std::strlen(g_interrupt_message[i]);
    struct sigaction ia {};
    ia.sa_handler = on_interrupt;
    sigemptyset(&ia.sa_mask);
    ::sigaction(signals[i], &ia, nullptr);
  }
}

unsigned all_cores() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace migscope::tools
