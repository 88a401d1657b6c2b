// The "memory" object of upstream's `-d state -m` (its Python 3 port crashes on
// any page): one key "<block> (0x%016x)" per page, in order of first
// appearance in the stream, with the page's final content (the last record
// wins, as a Python dict assignment does) as hex bytes, or "Filled with 0xNN"
// when the final record is a zero page. Written while walking; nothing is
// built in memory beyond one page.
#pragma once

#include <string>

#include "json/py_writer.h"
#include "ram/page_index.h"
#include "migscope/events.h"

namespace migscope {

class MemoryJson : public StreamVisitor {
 public:
  MemoryJson(json::PyWriter& w, Bytes file, PageIndex& index);
  Status on_pages(std::span<const RamBlock> blocks, std::span<const PageRecord> pages) override;

 private:
  json::PyWriter& w_;
  PageIndex& index_;
  PageResolver resolver_;
  std::vector<std::byte> scratch_;
  std::string text_;
};

}  // namespace migscope
