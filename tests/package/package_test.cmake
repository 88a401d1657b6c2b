# Packaging test (ctest: package.find_package_and_pkg_config). Installs the
# current build into a prefix under WORK, then builds the consumer of
# tests/package/consumer twice against that prefix only: with CMake's
# find_package(migscope) and with a plain compiler command line from
# `pkg-config --static --cflags --libs migscope`. Each consumer walks STREAM
# and must find the section and RAM block counts that `migscope info --json`
# reports for it. Any failure stops the test.
#
#   cmake -DBUILD_DIR=<build> -DSOURCE_DIR=<source> -DWORK=<scratch dir>
#         -DMIGSCOPE=<migscope executable> -DSTREAM=<corpus stream>
#         -DCXX=<C++ compiler> -DGENERATOR=<CMake generator> [-DCONFIG=<config>]
#         [-DEXTRA_FLAGS=<flags the library needs, e.g. -fsanitize=...>]
#         -P package_test.cmake
cmake_minimum_required(VERSION 3.22)

foreach(var BUILD_DIR SOURCE_DIR WORK MIGSCOPE STREAM CXX GENERATOR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "package_test.cmake: -D${var}=... is required")
  endif()
endforeach()
string(TIMESTAMP started "%s")
separate_arguments(extra_flags UNIX_COMMAND "${EXTRA_FLAGS}")

# Run a command; stop the test if it fails. The output is kept in `out`.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "${what} failed (${rc}):\n  ${cmd}\n${stdout}\n${stderr}")
  endif()
  set(out "${stdout}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK}/prefix)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

# ---- install ------------------------------------------------------------------
set(config_args)
if(DEFINED CONFIG AND NOT CONFIG STREQUAL "")
  set(config_args --config ${CONFIG})
endif()
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})

# The layout: the tools, the library, every public header (version.h from the
# build tree), the CMake package and the pkg-config file.
set(missing)
foreach(tool migscope analyze-migration vmstate-static-checker)
  if(NOT EXISTS ${prefix}/bin/${tool})
    list(APPEND missing bin/${tool})
  endif()
endforeach()
file(GLOB source_headers RELATIVE ${SOURCE_DIR}/include/migscope ${SOURCE_DIR}/include/migscope/*.h)
foreach(h ${source_headers} version.h)
  if(NOT EXISTS ${prefix}/include/migscope/${h})
    list(APPEND missing include/migscope/${h})
  endif()
endforeach()
file(GLOB_RECURSE libs ${prefix}/libmigscope.a ${prefix}/libmigscope.so)
file(GLOB_RECURSE config_files ${prefix}/migscopeConfig.cmake)
file(GLOB_RECURSE pc_files ${prefix}/migscope.pc)
if(NOT libs)
  list(APPEND missing libmigscope.a/.so)
endif()
if(NOT config_files)
  list(APPEND missing migscopeConfig.cmake)
else()
  get_filename_component(cmake_dir "${config_files}" DIRECTORY)
  foreach(f migscopeConfigVersion.cmake migscopeTargets.cmake)
    if(NOT EXISTS ${cmake_dir}/${f})
      list(APPEND missing ${f})
    endif()
  endforeach()
endif()
if(NOT pc_files)
  list(APPEND missing migscope.pc)
endif()
if(missing)
  message(FATAL_ERROR "not installed under ${prefix}: ${missing}")
endif()

# The umbrella header includes every other public header.
file(READ ${prefix}/include/migscope/migscope.h umbrella)
file(GLOB installed_headers RELATIVE ${prefix}/include/migscope ${prefix}/include/migscope/*.h)
foreach(h ${installed_headers})
  if(NOT h STREQUAL "migscope.h" AND NOT umbrella MATCHES "#include [<\"]migscope/${h}[>\"]")
    message(FATAL_ERROR "include/migscope/migscope.h does not include migscope/${h}")
  endif()
endforeach()

# ---- what the consumers must find ----------------------------------------------
run("migscope info --json" ${MIGSCOPE} info --json ${STREAM})
string(JSON want_sections LENGTH "${out}" sections)
string(JSON want_blocks LENGTH "${out}" ram_blocks)
message(STATUS "${STREAM}: ${want_sections} sections, ${want_blocks} RAM blocks (migscope info --json)")

# ---- find_package ------------------------------------------------------------
set(consumer_build ${WORK}/consumer-find-package)
run("configuring the find_package consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/consumer
  -B ${consumer_build} -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${prefix}
  -DMIGSCOPE_EXPECTED_PREFIX=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  "-DCMAKE_CXX_FLAGS=${EXTRA_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_FLAGS}")
run("building the find_package consumer" ${CMAKE_COMMAND} --build ${consumer_build} --parallel 2)
file(GLOB_RECURSE consumer_exe ${consumer_build}/consumer)
run("the find_package consumer" ${consumer_exe} ${STREAM} ${want_sections} ${want_blocks})
message(STATUS "find_package: ${out}")

# ---- pkg-config ----------------------------------------------------------------
find_program(PKG_CONFIG pkg-config)
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "pkg-config not found (scripts/install-deps.sh installs it)")
endif()
get_filename_component(pc_dir "${pc_files}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
# Relocatable: the prefix is found from the .pc file's own place.
run("pkg-config --variable=prefix" ${PKG_CONFIG} --variable=prefix migscope)
string(STRIP "${out}" pc_prefix)
file(REAL_PATH "${pc_prefix}" pc_prefix)
file(REAL_PATH "${prefix}" real_prefix)
if(NOT pc_prefix STREQUAL real_prefix)
  message(FATAL_ERROR "migscope.pc: prefix is ${pc_prefix}, not ${real_prefix}")
endif()
run("pkg-config --variable=libdir" ${PKG_CONFIG} --variable=libdir migscope)
string(STRIP "${out}" pc_libdir)
run("pkg-config --static --cflags --libs" ${PKG_CONFIG} --static --cflags --libs migscope)
string(STRIP "${out}" pc_flags_text)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags_text}")
# The rpath only matters for a shared libmigscope.
set(consumer_pc ${WORK}/consumer-pkg-config)
run("building the pkg-config consumer" ${CXX} ${SOURCE_DIR}/tests/package/consumer/main.cpp -o ${consumer_pc}
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror ${extra_flags} ${pc_flags} -Wl,-rpath,${pc_libdir})
run("the pkg-config consumer" ${consumer_pc} ${STREAM} ${want_sections} ${want_blocks})
message(STATUS "pkg-config (${pc_flags_text}): ${out}")

string(TIMESTAMP finished "%s")
math(EXPR seconds "${finished} - ${started}")
message(STATUS "package test passed in ${seconds} s")
