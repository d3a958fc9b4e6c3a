# auth_bench: chat-token issue/consume rate and latency against a real
# PostgreSQL and eirc-auth (started by the bench itself, see docs/api.md).
add_executable(auth_bench auth_bench.c
  ${PROJECT_SOURCE_DIR}/tests/integration/auth_fixture.c)
target_include_directories(auth_bench PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(auth_bench PRIVATE eirc_harness eirc::curl eirc::pq
  eirc::jansson)
add_dependencies(auth_bench eirc-auth)
