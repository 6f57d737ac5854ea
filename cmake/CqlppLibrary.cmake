# cqlpp_library(<target> <export name> <include dir>): the common setup of the
# installed libraries. Static or shared as BUILD_SHARED_LIBS says; shared ones
# are versioned (libcqlpp_driver.so.0.1.0, SONAME libcqlpp_driver.so.0.1: the
# ABI may change with every minor release before 1.0). The include directory
# is the source tree's while building and <prefix>/include once installed.
function(cqlpp_library target export_name include_dir)
  add_library(cqlpp::${export_name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES
    EXPORT_NAME ${export_name}
    POSITION_INDEPENDENT_CODE ON
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${include_dir}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # Warnings and sanitizers are the project's own: not exported.
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:cqlpp_options>)
  set_property(GLOBAL APPEND PROPERTY CQLPP_LIBRARIES ${target})
  set_property(GLOBAL APPEND PROPERTY CQLPP_INCLUDE_DIRS ${include_dir})
endfunction()
