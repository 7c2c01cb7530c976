# hs-agent (docs/architecture.md §10): the node agent. Its containers run under hs-shim.
add_executable(hs-agent agent_main.c agent_pods.c agent_state.c agent_static.c
                        agent_logs.c agent_probe.c agent_exec.c agent_routes.c
                        agent_sec.c)
# libmnl: rtnetlink for the routes (docs/architecture.md, "Host-gw routes")
find_library(MNL_LIB mnl REQUIRED)
target_link_libraries(hs-agent PRIVATE hsagent_usage hsagent_vol hsagent_core hsagent_cg hsagent_net hsbus ${LMDB_LIB}
                                       ${MNL_LIB})
target_compile_definitions(hs-agent PRIVATE HS_VERSION="0.1.0")
install(TARGETS hs-agent RUNTIME DESTINATION bin)
