// One file per subcommand; each takes its own argv (argv[0] = subcommand name).
#pragma once

namespace migscope::tools {
int cmd_info(int argc, char** argv);
int cmd_state(int argc, char** argv);
int cmd_desc(int argc, char** argv);
int cmd_check(int argc, char** argv);
int cmd_hash(int argc, char** argv);
int cmd_extract(int argc, char** argv);
int cmd_snapshots(int argc, char** argv);
int cmd_cat(int argc, char** argv);
int cmd_vmcore(int argc, char** argv);
int cmd_diff(int argc, char** argv);
int cmd_report(int argc, char** argv);
}  // namespace migscope::tools
