#include "json/py_writer.h"

namespace migscope::json {

void OutBuffer::Flush() {
  if (used_ == 0) return;
  if (text_) {
    text_->append(buf_, used_);
  } else if (file_ && !failed_) {
    if (std::fwrite(buf_, 1, used_, file_) != used_) failed_ = true;
  }
  used_ = 0;
}

}  // namespace migscope::json
