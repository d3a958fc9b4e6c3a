# The WebSocket test client against InspIRCd's own m_websocket.
eirc_test(test_ws_client SOURCES test_ws_client.c LIBS eirc_harness eirc_testclient
          LABELS integration TIMEOUT 300)

# eirc-gateway with everything real: PostgreSQL + eirc-auth (auth_fixture),
# InspIRCd with WEBIRC, the gateway and its irc-clients (gateway_fixture).
add_library(eirc_gateway_fixture STATIC gateway_fixture.c)
target_link_libraries(eirc_gateway_fixture PUBLIC eirc_auth_fixture eirc_testclient)
find_package(Threads REQUIRED)
foreach(_t test_gateway_e2e test_gateway_refusals test_gateway_faults test_gateway_slow
           test_gateway_access test_gateway_secrets test_gateway_reload)
  eirc_test(${_t} SOURCES ${_t}.c LIBS eirc_gateway_fixture Threads::Threads
            LABELS integration TIMEOUT 900)
  add_dependencies(${_t} eirc-irc-client eirc-auth)
  if(TARGET eirc-gateway)
    add_dependencies(${_t} eirc-gateway)
  endif()
endforeach()
# test_gateway_slow derives its memory bound from the gateway's own
# definitions (GW_READ_MAX, gw_msg_t): headers only.
if(TARGET eirc_gateway)
  target_include_directories(test_gateway_slow PRIVATE
    $<TARGET_PROPERTY:eirc_gateway,INTERFACE_INCLUDE_DIRECTORIES>)
endif()

# gateway/gw_bus (the access bus to gw_access) against a real Redis, with a
# recording gw_access in the test in place of the real one.
if(TARGET eirc_gateway)
  eirc_test(test_gw_bus SOURCES test_gw_bus.c LIBS eirc_gateway eirc_harness eirc::hiredis
            LABELS integration TIMEOUT 300)
endif()
