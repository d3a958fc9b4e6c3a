# gateway_bench: simulated browsers (libwebsockets client, one process) in
# rooms at a fixed message rate, straight to InspIRCd's m_websocket (the
# baseline) and through eirc-gateway in the same run, then idle sessions;
# starts PostgreSQL, eirc-auth, InspIRCd and the gateway itself (see
# docs/gateway.md, "Benchmark").
add_executable(gateway_bench gateway_bench.c
  ${PROJECT_SOURCE_DIR}/tests/integration/auth_fixture.c)
target_include_directories(gateway_bench PRIVATE ${PROJECT_SOURCE_DIR})
target_compile_definitions(gateway_bench PRIVATE
  EIRC_BINARY_DIR="${PROJECT_BINARY_DIR}")
target_link_libraries(gateway_bench PRIVATE eirc_harness eirc::websockets eirc::uv
  eirc::pq eirc::jansson)
add_dependencies(gateway_bench eirc-auth eirc-irc-client)
if(TARGET eirc-gateway)
  add_dependencies(gateway_bench eirc-gateway)
endif()
