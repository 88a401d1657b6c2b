#include "sinks/extractor.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "sinks/page_pipeline.h"

namespace migscope {

Result<std::vector<ExtractedBlock>> extract_blocks(Bytes file, const PageIndex& index, OutputDir& dir, unsigned threads,
                                                   bool release_behind) {
  std::vector<ExtractedBlock> blocks(index.block_count());
  std::vector<int> fds(index.block_count(), -1);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    blocks[i].name = index.block(i).name;
    blocks[i].relative_path = safe_relative_path(blocks[i].name);
    blocks[i].length = index.block(i).length;
    MIGSCOPE_TRY(dir.reserve(blocks[i].relative_path));
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    MIGSCOPE_ASSIGN(fds[i], dir.create(blocks[i].relative_path, blocks[i].length));
  }
  const std::uint64_t ps = index.page_size();
  PagePipeline pipeline(file, index, threads);
  pipeline.set_release_behind(release_behind);
  Status st = pipeline.run(
      [&](PageBatch& b) -> Status {
        const int fd = fds[b.block];
        const std::uint64_t length = index.block(b.block).length;
        std::uint64_t written = 0;
        for (std::size_t i = 0; i < b.pages.size(); ++i) {
          const std::byte* content = b.content[i];
          const std::uint64_t entry = index.entry(b.block, b.pages[i]);
          // Zero pages stay holes in the sparse file.
          if (PageEntry::kind(entry) == PageEntry::zero && (PageEntry::value(entry) & 0xff) == 0) continue;
          const std::uint64_t offset = b.pages[i] * ps;
          std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(ps, length - offset));
          while (n > 0) {
            ssize_t w = ::pwrite(fd, content, n, static_cast<off_t>(offset));
            if (w < 0) {
              if (errno == EINTR) continue;
              return make_error(ErrorCode::io, Error::no_offset,
                                "cannot write " + dir.path() + "/" + blocks[b.block].relative_path + ": " +
                                    std::strerror(errno));
            }
            content += w;
            n -= static_cast<std::size_t>(w);
          }
          ++written;
        }
        b.values[0] = written;
        return {};
      },
      [&](const PageBatch& b) -> Status {
        blocks[b.block].pages_written += b.values[0];
        return {};
      });
  if (!st.ok()) return std::move(st).error();
  return blocks;
}

}  // namespace migscope
