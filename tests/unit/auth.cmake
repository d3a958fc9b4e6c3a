# Unit tests of eirc-auth's pure library part (no loop, no database).
eirc_test(test_auth_parse SOURCES unit/test_auth_parse.c LIBS eirc_auth_core)
eirc_test(test_auth_route SOURCES unit/test_auth_route.c LIBS eirc_auth_core)
eirc_test(test_auth_access_pure SOURCES unit/test_auth_access_pure.c LIBS eirc_auth)
