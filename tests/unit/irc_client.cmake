# Unit tests of eirc-irc-client's pure modules and of common/irc_reg
# (see test_irc_client_pure.c); the session against a real server is in
# integration/test_irc_client.c.
eirc_test(test_irc_client_pure SOURCES unit/test_irc_client_pure.c LIBS eirc_ircclient)
