# eirc-history end to end: Redis, InspIRCd, eirc-logger, eirc-history and an
# eirc-irc-client; 5,000 messages and every CHATHISTORY form compared by
# msgid with what was sent (see test_history.c).
eirc_test(test_history SOURCES test_history.c LIBS eirc_logger_fixture eirc_common
          LABELS integration TIMEOUT 300)
add_dependencies(test_history eirc-history eirc-logger eirc-irc-client)

# eirc-history's HTTP API: PostgreSQL and eirc-auth (introspection, users,
# rooms), Redis written with the logger's append script, eirc-history.
eirc_test(test_history_http SOURCES test_history_http.c
          LIBS eirc_auth_fixture eirc_logger_fixture eirc_logger_core eirc::hiredis eirc::jansson
          LABELS integration TIMEOUT 300)
add_dependencies(test_history_http eirc-history eirc-auth)
