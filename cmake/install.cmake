# Install libtether for function authors: headers, static and shared library,
# a pkg-config file and a CMake package config (find_package(tether)), plus the
# tether executable. Both the .pc file and the CMake config are relocatable:
# `cmake --install build --prefix DIR` works for any DIR.
#   CMake:      find_package(tether) → tether::tether (shared), tether::tether_static,
#               and tether_package_target(TARGET) → a TARGET_zip target (tether package)
#   pkg-config: pkg-config --cflags --libs tether   (add --static for libtether.a)
set_target_properties(tether_runtime_shared PROPERTIES EXPORT_NAME tether)
set_target_properties(tether_runtime_static PROPERTIES EXPORT_NAME tether_static)
install(TARGETS tether_runtime_static tether_runtime_shared EXPORT tetherTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/tether DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS tether RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT tetherTargets NAMESPACE tether:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tether)
include(CMakePackageConfigHelpers)
# PATH_VARS: tether_package_target() finds PREFIX/bin/tether from the config's
# own location, so the installed tree stays relocatable
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tetherConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/tetherConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tether
    PATH_VARS CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tetherConfigVersion.cmake
    COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tetherConfig.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/tetherConfigVersion.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tether)
# the .pc file finds the prefix from its own location: ${pcfiledir}/../..
file(RELATIVE_PATH TETHER_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(TETHER_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  string(REGEX REPLACE "/$" "" TETHER_PC_TO_PREFIX "${TETHER_PC_TO_PREFIX}")
  set(TETHER_PC_PREFIX "\${pcfiledir}/${TETHER_PC_TO_PREFIX}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/tether.pc.in ${CMAKE_CURRENT_BINARY_DIR}/tether.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tether.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
