# eirc-irc-client against a real InspIRCd (see test_irc_client.c). Needs
# the two irc-client binaries built first.
eirc_test(test_irc_client SOURCES test_irc_client.c LIBS eirc_harness eirc_common
          LABELS integration TIMEOUT 300)
add_dependencies(test_irc_client eirc-irc-client eirc-irc-client-testhooks)
