# cmake --install: executables (tools/), the library, the public headers, a
# CMake package (find_package(migscope) -> migscope::migscope) and migscope.pc.
include(CMakePackageConfigHelpers)

# A shared libmigscope is found by the installed tools from their own place
# (an RPATH relative to bin/), so any --prefix works without LD_LIBRARY_PATH.
# The build tree keeps CMake's absolute build RPATH.
if(BUILD_SHARED_LIBS)
  file(RELATIVE_PATH _migscope_bin_to_lib ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
  set_target_properties(migscope analyze-migration vmstate-static-checker PROPERTIES
    INSTALL_RPATH "$ORIGIN/${_migscope_bin_to_lib}")
endif()

install(TARGETS migscope_lib EXPORT migscopeTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/migscope DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/migscope/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/migscope)

set(MIGSCOPE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/migscope)
install(EXPORT migscopeTargets NAMESPACE migscope:: DESTINATION ${MIGSCOPE_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/migscopeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/migscopeConfig.cmake INSTALL_DESTINATION ${MIGSCOPE_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/migscopeConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/migscopeConfig.cmake ${PROJECT_BINARY_DIR}/migscopeConfigVersion.cmake
  DESTINATION ${MIGSCOPE_CMAKE_DIR})

# pkg-config: relocatable (the prefix is found from the .pc file's own place,
# so `cmake --install --prefix P` works whatever prefix was configured).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(MIGSCOPE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(MIGSCOPE_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(MIGSCOPE_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  set(MIGSCOPE_PC_PREFIX "\${pcfiledir}/..")
  string(REPLACE "/" ";" _libdir_parts "${CMAKE_INSTALL_LIBDIR}")
  foreach(_part ${_libdir_parts})
    set(MIGSCOPE_PC_PREFIX "${MIGSCOPE_PC_PREFIX}/..")
  endforeach()
  set(MIGSCOPE_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(MIGSCOPE_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/migscope.pc.in ${PROJECT_BINARY_DIR}/migscope.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/migscope.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
