eirc_test(test_log SOURCES unit/test_log.c LIBS eirc_common)
