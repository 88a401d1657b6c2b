# What a distribution package needs besides the build products, and the
# Debian package itself:
#   - the manual pages (docs/man/*.1, the version filled in, gzip -9n'ed at
#     build time) -> share/man/man1
#   - shell completions (tools/completion/) -> share/bash-completion/completions,
#     share/zsh/vendor-completions
#   - README.md, the Debian copyright and changelog -> share/doc/migscope
#   - CPack: `cpack -G DEB` (or `ninja package`) in the build directory writes
#     migscope_<version>_<arch>.deb with everything `cmake --install` installs.
# Checked by tests/package/ (ctest -L package, ctest -R 'man|completion').

find_program(MIGSCOPE_GZIP gzip)

# configure_file SRC into the build tree (at DEST) and, with gzip, add the
# build step that writes DEST.gz; the installed name goes into OUT_VAR.
set(MIGSCOPE_GZIPPED_FILES)
function(migscope_doc_file src dest out_var)
  if(src MATCHES "\\.in$|/man/")
    configure_file(${src} ${dest} @ONLY)
  else()
    configure_file(${src} ${dest} COPYONLY)
  endif()
  if(MIGSCOPE_GZIP)
    # -n: no name or timestamp in the header, so the package is reproducible.
    add_custom_command(OUTPUT ${dest}.gz
      COMMAND ${MIGSCOPE_GZIP} -9nkf ${dest}
      COMMAND ${CMAKE_COMMAND} -E touch ${dest}.gz  # gzip gives it the input's time
      DEPENDS ${dest}
      COMMENT "gzip -9n ${dest}" VERBATIM)
    set(MIGSCOPE_GZIPPED_FILES ${MIGSCOPE_GZIPPED_FILES} ${dest}.gz PARENT_SCOPE)
    set(${out_var} ${dest}.gz PARENT_SCOPE)
  else()
    set(${out_var} ${dest} PARENT_SCOPE)
  endif()
endfunction()

# ---- manual pages ---------------------------------------------------------------
set(MIGSCOPE_VERSION ${PROJECT_VERSION})
set(MIGSCOPE_MAN_PAGES migscope.1 analyze-migration.1 vmstate-static-checker.1)
set(MIGSCOPE_MAN_BUILD_DIR ${PROJECT_BINARY_DIR}/docs/man)
foreach(page ${MIGSCOPE_MAN_PAGES})
  migscope_doc_file(${PROJECT_SOURCE_DIR}/docs/man/${page} ${MIGSCOPE_MAN_BUILD_DIR}/${page} installed)
  install(FILES ${installed} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endforeach()

# ---- documentation ---------------------------------------------------------------
# README.md is long: compressed, as Debian policy asks of files over 4 kB. The
# copyright file never is.
migscope_doc_file(${PROJECT_SOURCE_DIR}/README.md ${PROJECT_BINARY_DIR}/doc/README.md installed)
install(FILES ${installed} DESTINATION ${CMAKE_INSTALL_DOCDIR})
migscope_doc_file(${PROJECT_SOURCE_DIR}/packaging/debian/changelog ${PROJECT_BINARY_DIR}/doc/changelog installed)
install(FILES ${installed} DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
if(MIGSCOPE_GZIPPED_FILES)
  add_custom_target(migscope_docs ALL DEPENDS ${MIGSCOPE_GZIPPED_FILES})
endif()

# The changelog's newest entry names the version the package is built as.
file(STRINGS ${PROJECT_SOURCE_DIR}/packaging/debian/changelog _changelog_top LIMIT_COUNT 1)
if(NOT _changelog_top MATCHES "^migscope \\(${PROJECT_VERSION}\\) ")
  message(WARNING "packaging/debian/changelog: the newest entry is not version ${PROJECT_VERSION}: ${_changelog_top}")
endif()

# ---- shell completions --------------------------------------------------------------
# bash-completion loads completions/<command>: the drop-ins' files are links
# to migscope's, which completes all three.
set(_completion_dir ${PROJECT_BINARY_DIR}/completion)
configure_file(${PROJECT_SOURCE_DIR}/tools/completion/migscope.bash ${_completion_dir}/migscope COPYONLY)
set(_bash_completions ${_completion_dir}/migscope)
foreach(tool analyze-migration vmstate-static-checker)
  file(CREATE_LINK migscope ${_completion_dir}/${tool} SYMBOLIC)
  list(APPEND _bash_completions ${_completion_dir}/${tool})
endforeach()
install(FILES ${_bash_completions} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${PROJECT_SOURCE_DIR}/tools/completion/_migscope DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)

# ---- the Debian package ---------------------------------------------------------------
set(MIGSCOPE_DEB_MAINTAINER "migscope developers <dev@migscope.invalid>" CACHE STRING
  "Maintainer field of the Debian package")
set(CPACK_PACKAGE_NAME migscope)
set(CPACK_PACKAGE_VENDOR "migscope developers")
set(CPACK_PACKAGE_CONTACT "${MIGSCOPE_DEB_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "fast, safe tools and a C++ library for QEMU migration streams")
# The long description: CPack puts the summary first, indents every line by
# one space and turns the empty line into " ." (a paragraph break).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "migscope reads the files QEMU writes when it migrates or saves a virtual
machine (migrate to a file, savevm, virsh save), bare or inside libvirt save
images, compressed files and qcow2 internal snapshots. It walks multi-GB
dumps at memory speed with bounded memory: it prints their sections and
device state as JSON, hashes and extracts guest RAM, writes guest memory as
an ELF core for crash and gdb, compares two dumps, and checks whether a dump
or a device model can migrate between two QEMU builds.

analyze-migration and vmstate-static-checker are drop-in replacements for
QEMU's scripts of the same names. The static library, its headers, a CMake
package and a pkg-config file are included.")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # migscope_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)   # Depends from dpkg-shlibdeps (dpkg-dev)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR TXZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/out/")
include(CPack)
