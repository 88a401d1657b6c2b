// Compatibility header: read_vmdesc_json() lives in stream/open.h.
#pragma once
#include "stream/open.h"
