# Install libtether for function authors: headers, static and shared library,
# a pkg-config file and a CMake package config (find_package(tether)).
install(TARGETS tether_runtime_static tether_runtime_shared EXPORT tetherTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/tether DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS tether RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT tetherTargets NAMESPACE tether:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tether)
include(CMakePackageConfigHelpers)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tetherConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/tetherConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tether)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tetherConfigVersion.cmake
    COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tetherConfig.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/tetherConfigVersion.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tether)
configure_file(${PROJECT_SOURCE_DIR}/cmake/tether.pc.in ${CMAKE_CURRENT_BINARY_DIR}/tether.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tether.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
