# What `cmake --install` gives consumers besides the library and the headers
# (docs/packaging.md):
#   <libdir>/cmake/snn/    snnConfig.cmake, snnConfigVersion.cmake, snnTargets*.cmake:
#                          find_package(snn CONFIG) and the imported target snn::snn
#   <libdir>/pkgconfig/    snn.pc, for pkg-config (and Meson's dependency('snn'))
include(CMakePackageConfigHelpers)

set(SNN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/snn CACHE STRING
    "Where snnConfig.cmake is installed, relative to the prefix")
mark_as_advanced(SNN_CMAKE_DIR)

if(BUILD_SHARED_LIBS)
  set(SNN_CONFIG_STATIC OFF)
else()
  set(SNN_CONFIG_STATIC ON)
endif()
install(EXPORT snnTargets NAMESPACE snn:: DESTINATION ${SNN_CMAKE_DIR} FILE snnTargets.cmake)
configure_package_config_file(cmake/snnConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/snnConfig.cmake
  INSTALL_DESTINATION ${SNN_CMAKE_DIR})
# Any 0.x release satisfies find_package(snn 0.1); 1.x will not (its ABI and
# API may differ). The soname carries the ABI version for the loader.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/snnConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/snnConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/snnConfigVersion.cmake
  DESTINATION ${SNN_CMAKE_DIR})

# snn.pc finds its prefix from its own location (${pcfiledir}), so an
# installed tree can be moved (a package manager's cache, an SDK folder).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(SNN_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  string(REGEX REPLACE "[^/]+" ".." _snn_up "${CMAKE_INSTALL_LIBDIR}")
  set(SNN_PC_PREFIX "\${pcfiledir}/../${_snn_up}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(SNN_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(SNN_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(SNN_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(SNN_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# A static libsnn needs what the library itself links (pkg-config --static).
set(SNN_PC_CFLAGS "")
set(SNN_PC_LIBS_PRIVATE "")
if(NOT BUILD_SHARED_LIBS)
  set(SNN_PC_CFLAGS " -DSNN_STATIC")
  foreach(lib IN LISTS SNN_CXX_RUNTIME)
    string(APPEND SNN_PC_LIBS_PRIVATE " -l${lib}")
  endforeach()
  if(CMAKE_THREAD_LIBS_INIT)
    string(APPEND SNN_PC_LIBS_PRIVATE " ${CMAKE_THREAD_LIBS_INIT}")
  endif()
endif()
configure_file(cmake/snn.pc.in ${CMAKE_CURRENT_BINARY_DIR}/snn.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/snn.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
