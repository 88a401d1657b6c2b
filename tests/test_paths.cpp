#include "test_paths.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

namespace migscope::test {

std::string source_dir() { return MIGSCOPE_SOURCE_DIR; }
std::string binary_dir() { return MIGSCOPE_BINARY_DIR; }
std::string corpus_dir() { return source_dir() + "/corpus"; }
std::string shared_dir() { return MIGSCOPE_SHARED_DIR; }
std::string tool_path(const std::string& name) { return binary_dir() + "/tools/" + name; }

int run_command(const std::string& cmd, std::string* out, bool merge_stderr) {
  std::string full = cmd + (merge_stderr ? " 2>&1" : "");
  FILE* p = popen(full.c_str(), "r");
  if (!p) return -1;
  char buf[65536];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    if (out) out->append(buf, n);
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::uint64_t mapping_resident_bytes(const void* start) {
  std::ifstream smaps("/proc/self/smaps");
  char head[32];
  std::snprintf(head, sizeof head, "%lx-", static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(start)));
  std::string line;
  bool in_vma = false;
  while (std::getline(smaps, line)) {
    if (line.rfind(head, 0) == 0) in_vma = true;
    else if (in_vma && line.rfind("Rss:", 0) == 0) return std::stoull(line.substr(4)) * 1024;
  }
  return UINT64_MAX;
}

}  // namespace migscope::test
