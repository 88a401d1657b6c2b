# Embed core/compat/renames.json (the built-in rename table) into
# migscope_lib as a string literal, regenerated whenever the JSON changes.
# core/CMakeLists.txt includes this right after add_library(migscope_lib ...):
#   include(${CMAKE_CURRENT_SOURCE_DIR}/compat/CMakeLists-embed.cmake)
set(_migscope_renames_json ${CMAKE_CURRENT_LIST_DIR}/renames.json)
set(_migscope_renames_dir ${CMAKE_CURRENT_BINARY_DIR}/compat_generated/compat)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_migscope_renames_json})
file(READ ${_migscope_renames_json} _migscope_renames_text)
string(FIND "${_migscope_renames_text}" ")migscope_renames\"" _migscope_delim_pos)
if(NOT _migscope_delim_pos EQUAL -1)
  message(FATAL_ERROR "renames.json contains the raw-string delimiter )migscope_renames\"")
endif()
file(WRITE ${_migscope_renames_dir}/renames_json.inc.tmp
  "// Generated from core/compat/renames.json by CMakeLists-embed.cmake; do not edit.\n"
  "R\"migscope_renames(${_migscope_renames_text})migscope_renames\"\n")
# configure_file only touches the output when its content changes: no needless rebuilds.
configure_file(${_migscope_renames_dir}/renames_json.inc.tmp ${_migscope_renames_dir}/renames_json.inc COPYONLY)
target_include_directories(migscope_lib PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/compat_generated)
