# irc_client_bench: N irc-client sessions against a real InspIRCd: memory
# per process (smaps_rollup) and start-to-001 latency (see docs/irc-client.md).
add_executable(irc_client_bench irc_client_bench.c)
target_include_directories(irc_client_bench PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(irc_client_bench PRIVATE eirc_harness)
add_dependencies(irc_client_bench eirc-irc-client)
