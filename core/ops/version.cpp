#include "migscope/version.h"

namespace migscope {

const char* version() noexcept { return MIGSCOPE_VERSION; }

}  // namespace migscope
