// Re-encode a parsed JSON document the way upstream's Python does
// (json.loads with OrderedDict, then json.dumps): a duplicated key keeps its
// first position and takes its last value.
#pragma once

#include <rapidjson/document.h>

#include "json/py_writer.h"

namespace migscope::json {

void write_python_json(PyWriter& w, const rapidjson::Value& v);

}  // namespace migscope::json
