# Issue 9's scale-out topology on loopback: two InspIRCd linked with
# m_spanningtree, two gateways (each preferring its own server) sharing one
# eirc-auth/PostgreSQL, the HA pair of loggers, Redis and eirc-history;
# cross-server chat, single-use tokens across gateways, each message
# archived once, the same CHATHISTORY from both sides, kill -9 of one
# server and its return (see test_cluster.c).
eirc_test(test_cluster SOURCES test_cluster.c
          LIBS eirc_gateway_fixture eirc_logger_fixture eirc_logger_core
          LABELS integration TIMEOUT 600)
add_dependencies(test_cluster eirc-irc-client eirc-auth eirc-logger eirc-history)
if(TARGET eirc-gateway)
  add_dependencies(test_cluster eirc-gateway)
endif()
