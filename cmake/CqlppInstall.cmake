# Installation: headers, libraries, the CMake package (find_package(cqlpp)),
# pkg-config files and the Debian packages CPack builds from them.
#
# Components: dev (headers, static libraries or shared-library links, CMake
# and pkg-config files), lib (shared libraries, BUILD_SHARED_LIBS only) and
# tool (the cqlpp executable).
include(CMakePackageConfigHelpers)

get_property(cqlpp_libraries GLOBAL PROPERTY CQLPP_LIBRARIES)
get_property(cqlpp_include_dirs GLOBAL PROPERTY CQLPP_INCLUDE_DIRS)
set(cqlpp_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/cqlpp)
if(BUILD_SHARED_LIBS)
  set(cqlpp_lib_component lib)
else()
  set(cqlpp_lib_component dev)
endif()

install(TARGETS ${cqlpp_libraries} EXPORT cqlppTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT ${cqlpp_lib_component} NAMELINK_COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT ${cqlpp_lib_component})
foreach(dir ${cqlpp_include_dirs})
  install(DIRECTORY ${dir}/cqlpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
          FILES_MATCHING PATTERN "*.hpp")
endforeach()
if(TARGET cqlpp)
  install(TARGETS cqlpp RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tool)
endif()

install(EXPORT cqlppTargets NAMESPACE cqlpp:: DESTINATION ${cqlpp_cmake_dir} COMPONENT dev)
# Static libraries carry their private dependencies to the consumer's link.
if(BUILD_SHARED_LIBS)
  set(CQLPP_STATIC OFF)
else()
  set(CQLPP_STATIC ON)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cqlppConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cqlppConfig.cmake INSTALL_DESTINATION ${cqlpp_cmake_dir})
# Before 1.0 every minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cqlppConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cqlppConfig.cmake ${PROJECT_BINARY_DIR}/cqlppConfigVersion.cmake
  DESTINATION ${cqlpp_cmake_dir} COMPONENT dev)

# pkg-config: cqlpp.pc (driver and bulk with what they need) and cqlpp-sim.pc.
# The prefix is found from the .pc file's own place, so an installed tree can
# be moved (or unpacked from a .deb with dpkg -x) and still be used.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(CQLPP_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  set(CQLPP_PC_PREFIX "\${pcfiledir}")
  string(REPLACE "/" ";" cqlpp_parts "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  foreach(part ${cqlpp_parts})
    string(APPEND CQLPP_PC_PREFIX "/..")
  endforeach()
endif()
if(CQLPP_STATIC)
  set(CQLPP_PC_REQUIRES "openssl liblz4 libxxhash zlib spdlog snappy libzstd")
  set(CQLPP_PC_REQUIRES_PRIVATE "")
  set(CQLPP_PC_SIM_REQUIRES "openssl liblz4 libxxhash zlib")
  set(CQLPP_PC_SIM_REQUIRES_PRIVATE "")
else()
  set(CQLPP_PC_REQUIRES "openssl")
  set(CQLPP_PC_REQUIRES_PRIVATE "liblz4 libxxhash zlib spdlog snappy libzstd")
  set(CQLPP_PC_SIM_REQUIRES "")
  set(CQLPP_PC_SIM_REQUIRES_PRIVATE "openssl liblz4 libxxhash zlib")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/cqlpp.pc.in ${PROJECT_BINARY_DIR}/cqlpp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cqlpp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
if(TARGET cqlpp_sim)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/cqlpp-sim.pc.in ${PROJECT_BINARY_DIR}/cqlpp-sim.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/cqlpp-sim.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
endif()

# Debian packages: cpack -G DEB (in the build directory) gives libcqlpp-dev
# and cqlpp (plus libcqlpp<version> with BUILD_SHARED_LIBS=ON).
set(CPACK_PACKAGE_NAME cqlpp)
set(CPACK_PACKAGE_VENDOR "cqlpp")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Asynchronous C++20 driver for Apache Cassandra (CQL native protocol v5/v4)")
set(CPACK_PACKAGE_CONTACT "cqlpp developers <cqlpp@localhost>")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_COMPONENTS_ALL dev)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libcqlpp-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION "cqlpp: asynchronous C++20 Cassandra driver, development files
 Headers, libraries, CMake package (find_package(cqlpp)) and pkg-config
 files (cqlpp, cqlpp-sim) of the cqlpp driver, bulk operations and the
 simulated cluster for tests.")
set(cqlpp_dev_depends "libasio-dev (>= 1:1.22), libssl-dev, pkgconf | pkg-config")
if(CQLPP_STATIC)
  string(APPEND cqlpp_dev_depends ", liblz4-dev, libxxhash-dev, zlib1g-dev, libspdlog-dev, libsnappy-dev, libzstd-dev")
else()
  list(APPEND CPACK_COMPONENTS_ALL lib)
  set(cqlpp_soname_version ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  set(CPACK_DEBIAN_LIB_PACKAGE_NAME libcqlpp${cqlpp_soname_version})
  set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
  set(CPACK_DEBIAN_LIB_PACKAGE_SHLIBDEPS ON)
  set(CPACK_COMPONENT_LIB_DESCRIPTION "cqlpp: asynchronous C++20 Cassandra driver, shared libraries")
  string(APPEND cqlpp_dev_depends ", libcqlpp${cqlpp_soname_version} (= ${PROJECT_VERSION}-1)")
endif()
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${cqlpp_dev_depends}")
if(TARGET cqlpp)
  list(APPEND CPACK_COMPONENTS_ALL tool)
  set(CPACK_DEBIAN_TOOL_PACKAGE_NAME cqlpp)
  set(CPACK_DEBIAN_TOOL_PACKAGE_SECTION database)
  set(CPACK_DEBIAN_TOOL_PACKAGE_SHLIBDEPS ON)
  set(CPACK_COMPONENT_TOOL_DESCRIPTION "cqlpp: CQL shell, bulk loader and simulated Cassandra cluster
 cqlpp exec / shell (run CQL against a cluster), cqlpp bulk (count, unload,
 load, checksum a table), cqlpp sim (an in-memory Cassandra cluster for
 tests) and cqlpp wire / token (the protocol codec from the command line).")
  if(NOT CQLPP_STATIC)
    set(CPACK_DEBIAN_TOOL_PACKAGE_DEPENDS "libcqlpp${cqlpp_soname_version} (= ${PROJECT_VERSION}-1)")
  endif()
endif()
include(CPack)
