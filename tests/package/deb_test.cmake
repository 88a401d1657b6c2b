# Debian package test (ctest: package.deb). Builds the .deb of the current
# build with `cpack -G DEB` into WORK, then checks it without touching the
# machine's dpkg database:
#   - its name is migscope_<version>_<dpkg architecture>.deb;
#   - `dpkg-deb -I`: package, version, architecture, section utils, a
#     maintainer, a synopsis and a long description, Depends from
#     dpkg-shlibdeps naming libc6 and each library the tools link, all of them
#     installed here;
#   - `dpkg-deb -c`: every file `cmake --install` installs, under /usr, owned by
#     root, no directory or file writable by others, executables 0755;
#   - unpacked with `dpkg -x` into WORK/root: the executables are stripped and
#     carry no RPATH, `migscope --version` prints the version, `migscope info`
#     reads STREAM, the three manual pages render without warnings;
#   - lintian, when installed: no error (E:) tag. Its whole output is printed.
#
#   cmake -DBUILD_DIR=<build> -DWORK=<scratch dir> -DVERSION=<project version>
#         -DSTREAM=<corpus stream> -P deb_test.cmake
cmake_minimum_required(VERSION 3.22)

foreach(var BUILD_DIR WORK VERSION STREAM)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "deb_test.cmake: -D${var}=... is required")
  endif()
endforeach()
string(TIMESTAMP started "%s")

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "${what} failed (${rc}):\n  ${cmd}\n${stdout}\n${stderr}")
  endif()
  set(out "${stdout}" PARENT_SCOPE)
  set(err "${stderr}" PARENT_SCOPE)
endfunction()

set(failures)
# check(<message> <condition>...): record <message> unless <condition> holds.
function(check message)
  if(NOT (${ARGN}))
    list(APPEND failures "${message}")
    set(failures "${failures}" PARENT_SCOPE)
    message(STATUS "FAIL: ${message}")
  endif()
endfunction()

foreach(tool dpkg dpkg-deb dpkg-shlibdeps)
  find_program(have_${tool} ${tool})
  if(NOT have_${tool})
    message(FATAL_ERROR "${tool} not found (apt-get install dpkg-dev; scripts/install-deps.sh installs it)")
  endif()
endforeach()
find_program(CPACK cpack HINTS ${CMAKE_COMMAND}/.. NO_DEFAULT_PATH)
if(NOT CPACK)
  find_program(CPACK cpack REQUIRED)
endif()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

# ---- build it --------------------------------------------------------------------
run("cpack -G DEB" ${CPACK} --config ${BUILD_DIR}/CPackConfig.cmake -G DEB -B ${WORK})
run("dpkg --print-architecture" dpkg --print-architecture)
string(STRIP "${out}" arch)
set(deb ${WORK}/migscope_${VERSION}_${arch}.deb)
file(GLOB debs ${WORK}/*.deb)
if(NOT EXISTS ${deb})
  message(FATAL_ERROR "cpack wrote ${debs}, not ${deb}")
endif()
file(SIZE ${deb} deb_size)
message(STATUS "${deb}: ${deb_size} bytes")

# ---- control -------------------------------------------------------------------------
run("dpkg-deb -I" dpkg-deb -I ${deb})
message(STATUS "dpkg-deb -I:\n${out}")
set(info "${out}")
foreach(field "Package: migscope" "Version: ${VERSION}" "Architecture: ${arch}" "Section: utils" "Priority: optional")
  string(FIND "${info}" "\n ${field}\n" at)
  check("dpkg-deb -I: no '${field}'" NOT at EQUAL -1)
endforeach()
check("dpkg-deb -I: no Maintainer with an address" info MATCHES "\n Maintainer: [^\n]+ <[^@>]+@[^>]+>\n")
check("dpkg-deb -I: no synopsis and long description" info MATCHES "\n Description: [^\n]+\n  [^ \n][^\n]+")
string(REGEX MATCH "\n Depends: ([^\n]*)" _ "${info}")
set(depends "${CMAKE_MATCH_1}")
check("dpkg-deb -I: no Depends" depends MATCHES ".")
foreach(lib libc6 libstdc\\+\\+6 libzstd1 zlib1g liblzo2-2 libxxhash0 libboost-iostreams libboost-program-options)
  check("Depends does not name ${lib}: ${depends}" depends MATCHES "(^|, )${lib}")
endforeach()
# Every dependency is a package installed on this (the building) machine.
string(REGEX REPLACE " \\([^)]*\\)" "" dep_names "${depends}")
string(REPLACE ", " ";" dep_names "${dep_names}")
foreach(dep ${dep_names})
  execute_process(COMMAND dpkg-query -W -f=\${Status} ${dep} OUTPUT_VARIABLE status ERROR_QUIET)
  check("Depends: ${dep} is not an installed package" status MATCHES "install ok installed")
endforeach()

# ---- contents -----------------------------------------------------------------------
run("dpkg-deb -c" dpkg-deb -c ${deb})
set(contents "${out}")
string(REGEX REPLACE "\n$" "" lines "${contents}")
string(REPLACE "\n" ";" lines "${lines}")
set(paths)
foreach(line ${lines})
  # drwxr-xr-x root/root 0 2026-12-02 12:00 ./usr/bin/  [-> target]
  if(NOT line MATCHES "^([-dl][-rwxsStT]+) ([^ ]+) +[0-9]+ [0-9-]+ [0-9:]+ \\./([^ ]*)( -> .*)?$")
    list(APPEND failures "dpkg-deb -c: unexpected line: ${line}")
    continue()
  endif()
  set(mode ${CMAKE_MATCH_1})
  set(owner ${CMAKE_MATCH_2})
  set(path ${CMAKE_MATCH_3})
  list(APPEND paths "${path}")
  check("${path}: owned by ${owner}" owner STREQUAL "root/root")
  if(mode MATCHES "^l")
    continue()
  endif()
  check("${path}: mode ${mode} is group/other writable" NOT mode MATCHES "^.(.......w.|.....w....)")
  if(path MATCHES "^usr/bin/.")
    check("${path}: mode ${mode}, not -rwxr-xr-x" mode STREQUAL "-rwxr-xr-x")
  elseif(mode MATCHES "^d")
    check("${path}: mode ${mode}, not drwxr-xr-x" mode STREQUAL "drwxr-xr-x")
  elseif(path MATCHES "^usr/(share|include|lib)/")
    check("${path}: mode ${mode}, not -rw-r--r--" mode STREQUAL "-rw-r--r--")
  endif()
  check("${path}: outside /usr" path MATCHES "^(usr/.*)?$")
endforeach()
foreach(want
    usr/bin/migscope usr/bin/analyze-migration usr/bin/vmstate-static-checker
    usr/share/man/man1/migscope.1.gz usr/share/man/man1/analyze-migration.1.gz
    usr/share/man/man1/vmstate-static-checker.1.gz
    usr/share/bash-completion/completions/migscope
    usr/share/bash-completion/completions/analyze-migration
    usr/share/bash-completion/completions/vmstate-static-checker
    usr/share/zsh/vendor-completions/_migscope
    usr/share/doc/migscope/copyright usr/share/doc/migscope/changelog.gz usr/share/doc/migscope/README.md.gz
    usr/include/migscope/migscope.h usr/include/migscope/version.h)
  list(FIND paths "${want}" at)
  check("not in the package: /${want}" NOT at EQUAL -1)
endforeach()
foreach(want "usr/lib/([^/]+/)?libmigscope\\.(a|so)" "usr/lib/([^/]+/)?cmake/migscope/migscopeConfig\\.cmake"
    "usr/lib/([^/]+/)?pkgconfig/migscope\\.pc")
  set(found FALSE)
  foreach(p ${paths})
    if(p MATCHES "^${want}$")
      set(found TRUE)
    endif()
  endforeach()
  check("not in the package: /${want}" found)
endforeach()

# ---- unpacked -------------------------------------------------------------------------
set(root ${WORK}/root)
run("dpkg -x" dpkg -x ${deb} ${root})
find_program(READELF readelf)
foreach(tool migscope analyze-migration vmstate-static-checker)
  set(exe ${root}/usr/bin/${tool})
  if(READELF)
    run("readelf -S ${tool}" ${READELF} -S -W ${exe})
    check("${tool} is not stripped" NOT out MATCHES "\\.symtab|\\.debug_")
    run("readelf -d ${tool}" ${READELF} -d ${exe})
    check("${tool} has an RPATH" NOT out MATCHES "RPATH|RUNPATH")
  endif()
endforeach()
run("installed migscope --version" ${root}/usr/bin/migscope --version)
check("migscope --version printed: ${out}" out MATCHES "^migscope ${VERSION} ")
message(STATUS "installed: ${out}")
run("installed migscope info" ${root}/usr/bin/migscope info ${STREAM})
check("migscope info ${STREAM} names no pc.ram:\n${out}" out MATCHES "pc\\.ram")
string(REGEX MATCH "^[^\n]*" first_line "${out}")
message(STATUS "installed migscope info: ${first_line} ...")
run("installed vmstate-static-checker --help" ${root}/usr/bin/vmstate-static-checker --help)
run("installed analyze-migration -d desc" ${root}/usr/bin/analyze-migration -f ${STREAM} -d desc)
find_program(MAN man)
if(MAN)
  foreach(page migscope analyze-migration vmstate-static-checker)
    set(ENV{LC_ALL} C.UTF-8)
    run("man ${page}.1.gz" ${MAN} --warnings -l ${root}/usr/share/man/man1/${page}.1.gz)
    check("man --warnings ${page}.1.gz:\n${err}" NOT err MATCHES ".")
    check("man ${page}.1.gz rendered no EXIT STATUS" out MATCHES "EXIT STATUS")
  endforeach()
else()
  message(STATUS "man not found: the installed manual pages not rendered")
endif()

# ---- lintian ---------------------------------------------------------------------------
find_program(LINTIAN lintian)
if(LINTIAN)
  # --allow-root: CI builds as root; lintian only reads the package.
  execute_process(COMMAND ${LINTIAN} --allow-root --tag-display-limit 0 --display-info ${deb}
    RESULT_VARIABLE rc OUTPUT_VARIABLE lint ERROR_VARIABLE lint_err)
  message(STATUS "lintian (exit ${rc}):\n${lint}${lint_err}")
  string(REGEX MATCHALL "(^|\n)E: [^\n]*" errors "${lint}")
  check("lintian reports errors:${errors}" NOT errors)
  check("lintian failed (exit ${rc}): ${lint_err}" rc EQUAL 0 OR errors)
else()
  message(STATUS "lintian not found (apt-get install lintian): package not linted")
endif()

if(failures)
  string(REPLACE ";" "\n  " failures "${failures}")
  message(FATAL_ERROR "package.deb:\n  ${failures}")
endif()
string(TIMESTAMP finished "%s")
math(EXPR seconds "${finished} - ${started}")
message(STATUS "package.deb passed in ${seconds} s")
