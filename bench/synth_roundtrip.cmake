# ctest bench.synth_roundtrip: migscope-synth writes small streams (plain with
# XBZRLE re-sends and zlib pages, and mapped-ram) plus their raw images;
# `migscope extract` must reproduce each image byte for byte.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
foreach(variant plain mapped)
  if(variant STREQUAL "plain")
    set(extra --xbzrle 0.1 --zlib 0.05)
  else()
    set(extra --mapped-ram)
  endif()
  execute_process(COMMAND ${SYNTH} --size 8M -o ${WORK}/${variant}.mig --raw ${WORK}/${variant}.img ${extra}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "migscope-synth ${variant} failed: ${rc}")
  endif()
  execute_process(COMMAND ${MIGSCOPE} extract ${WORK}/${variant}.mig -o ${WORK}/${variant}.out RESULT_VARIABLE rc
                  OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "migscope extract ${variant} failed: ${rc}")
  endif()
  file(SHA256 ${WORK}/${variant}.img want)
  file(SHA256 ${WORK}/${variant}.out/pc.ram got)
  if(NOT want STREQUAL got)
    message(FATAL_ERROR "${variant}: extracted pc.ram differs from the raw image")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK})
