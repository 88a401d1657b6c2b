# Decompress the committed corpus (*.mig.xz) into the build tree, so tests and
# the README's run command find plain streams under build/corpus/.
file(GLOB_RECURSE MIGSCOPE_CORPUS_XZ CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/corpus/*.xz)
set(MIGSCOPE_CORPUS_OUTPUTS)
foreach(xz ${MIGSCOPE_CORPUS_XZ})
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR}/corpus ${xz})
  string(REGEX REPLACE "\\.xz$" "" rel ${rel})
  set(out ${PROJECT_BINARY_DIR}/corpus/${rel})
  get_filename_component(outdir ${out} DIRECTORY)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${outdir}
    COMMAND sh -c "xz -dc '${xz}' > '${out}.tmp' && mv '${out}.tmp' '${out}'"
    DEPENDS ${xz} VERBATIM)
  list(APPEND MIGSCOPE_CORPUS_OUTPUTS ${out})
endforeach()
add_custom_target(corpus ALL DEPENDS ${MIGSCOPE_CORPUS_OUTPUTS})
