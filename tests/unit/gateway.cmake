# Unit tests of eirc-gateway's pure modules (see test_gateway_pure.c); the
# daemon against real servers is tested from outside (integration/).
eirc_test(test_gateway_pure SOURCES unit/test_gateway_pure.c LIBS eirc_gateway)
