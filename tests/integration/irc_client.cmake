# eirc-irc-client against a real InspIRCd (see test_irc_client.c). Needs
# the two irc-client binaries built first.
eirc_test(test_irc_client SOURCES test_irc_client.c LIBS eirc_harness eirc_common eirc_testclient
          LABELS integration TIMEOUT 300)
add_dependencies(test_irc_client eirc-irc-client eirc-irc-client-testhooks)
# The upstream beyond plain TCP: TLS against InspIRCd's ssl_gnutls with a
# throwaway CA (openssl CLI), and the PING timeout against a silent server.
eirc_test(test_irc_client_upstream SOURCES test_irc_client_upstream.c
          LIBS eirc_harness eirc_common eirc_testclient LABELS integration TIMEOUT 300)
add_dependencies(test_irc_client_upstream eirc-irc-client)
