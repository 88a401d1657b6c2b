// The whole public API of migscope in one include. Each header below also
// stands alone; this one is for programs that would rather not pick.
#pragma once

#include "migscope/version.h"  // IWYU pragma: export

#include "migscope/bytes.h"    // IWYU pragma: export
#include "migscope/compat.h"   // IWYU pragma: export
#include "migscope/diff.h"     // IWYU pragma: export
#include "migscope/error.h"    // IWYU pragma: export
#include "migscope/events.h"
#include "migscope/guest.h"   // IWYU pragma: export
#include "migscope/input.h"    // IWYU pragma: export
#include "migscope/ops.h"      // IWYU pragma: export
#include "migscope/records.h"  // IWYU pragma: export
#include "migscope/stream.h"   // IWYU pragma: export
#include "migscope/value.h"    // IWYU pragma: export
