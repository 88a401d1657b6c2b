# Embed core/ops/report_page.html (the report's page: CSS, script, and the
# <!--@part--> markers report.cpp fills) into migscope_lib as a string
# literal, regenerated whenever the page changes.
# core/CMakeLists.txt includes this right after add_library(migscope_lib ...).
set(_migscope_report_page ${CMAKE_CURRENT_LIST_DIR}/report_page.html)
set(_migscope_report_dir ${CMAKE_CURRENT_BINARY_DIR}/ops_generated/ops)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_migscope_report_page})
file(READ ${_migscope_report_page} _migscope_report_text)
string(FIND "${_migscope_report_text}" ")migscope_page\"" _migscope_report_delim)
if(NOT _migscope_report_delim EQUAL -1)
  message(FATAL_ERROR "report_page.html contains the raw-string delimiter )migscope_page\"")
endif()
file(WRITE ${_migscope_report_dir}/report_page.inc.tmp
  "// Generated from core/ops/report_page.html by CMakeLists-embed.cmake; do not edit.\n"
  "R\"migscope_page(${_migscope_report_text})migscope_page\"\n")
configure_file(${_migscope_report_dir}/report_page.inc.tmp ${_migscope_report_dir}/report_page.inc COPYONLY)
target_include_directories(migscope_lib PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/ops_generated)
