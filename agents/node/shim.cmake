# hs-shim, the per-container shim (agents/node/shim.c). Included from
# agents/node/CMakeLists.txt with include(shim.cmake).
add_executable(hs-shim ${CMAKE_CURRENT_LIST_DIR}/shim.c ${CMAKE_CURRENT_LIST_DIR}/shim_log.c
                       ${CMAKE_CURRENT_LIST_DIR}/shim_stream.c ${CMAKE_CURRENT_LIST_DIR}/shim_sec.c
                       ${CMAKE_CURRENT_LIST_DIR}/shim_mounts.c)
# libseccomp: the containers' RuntimeDefault-like profile (shim_sec.c)
find_library(SECCOMP_LIB seccomp REQUIRED)
target_link_libraries(hs-shim PRIVATE hsbus ${SECCOMP_LIB})
install(TARGETS hs-shim RUNTIME DESTINATION bin)
