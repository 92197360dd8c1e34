# What `cmake --install build --prefix P` puts in P. Components: `runtime`
# (libsmq_runtime shared and static, the C API and runtime headers, the
# CMake package and smq-runtime.pc: all a deployment toolchain needs),
# `compiler` (libsmq_compiler, the C API of smq-c/Compiler.h; it needs
# Debian's LLVM/MLIR 22, ONNX and protobuf libraries) and `tools`
# (smq-compile and the other tools).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS smq_runtime SMQRuntime EXPORT SMQRuntimeTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python-free-bindings/include/smq-c
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/include/smq/Runtime/Runtime.h
  ${PROJECT_SOURCE_DIR}/include/smq/Runtime/Artifact.h
  ${PROJECT_SOURCE_DIR}/include/smq/Runtime/PackedLayout.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/smq/Runtime COMPONENT runtime)

set(SMQ_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/SMQ)
install(EXPORT SMQRuntimeTargets NAMESPACE SMQ::
  DESTINATION ${SMQ_CMAKE_DIR} COMPONENT runtime)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/SMQConfig.cmake.in
  ${PROJECT_BINARY_DIR}/SMQConfig.cmake INSTALL_DESTINATION ${SMQ_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SMQConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/SMQConfig.cmake
  ${PROJECT_BINARY_DIR}/SMQConfigVersion.cmake
  DESTINATION ${SMQ_CMAKE_DIR} COMPONENT runtime)
configure_file(${PROJECT_SOURCE_DIR}/cmake/smq-runtime.pc.in
  ${PROJECT_BINARY_DIR}/smq-runtime.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/smq-runtime.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT runtime)

# The compiler and the tools find Debian's libMLIR/libLLVM where they are.
set_target_properties(smq_compiler smq-compile smq-run smq-opt smq-translate
  smq-eval smq-calibrate smq-stats smq-sweep PROPERTIES
  INSTALL_RPATH "${LLVM_LIBRARY_DIR}")
install(TARGETS smq_compiler EXPORT SMQCompilerTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT compiler)
install(EXPORT SMQCompilerTargets NAMESPACE SMQ::
  DESTINATION ${SMQ_CMAKE_DIR} COMPONENT compiler)

install(TARGETS smq-compile smq-run smq-opt smq-translate smq-eval
  smq-calibrate smq-stats smq-sweep
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)
