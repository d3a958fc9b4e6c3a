# Unit tests of eirc-logger's pure library (see logger-bot/CMakeLists.txt).
eirc_test(test_logger_core SOURCES unit/test_logger_core.c LIBS eirc_logger_core)
eirc_test(test_logger_spill SOURCES unit/test_logger_spill.c LIBS eirc_logger_core)
eirc_test(test_logger_bulk SOURCES unit/test_logger_bulk.c LIBS eirc_logger_core)
eirc_test(test_logger_ingest SOURCES unit/test_logger_ingest.c LIBS eirc_logger_core)
# irc_conn's bad-line callback against a fake server on a UNIX socket in
# the test's loop, and the labelled lines_refused metric family.
eirc_test(test_logger_badline SOURCES unit/test_logger_badline.c
          LIBS eirc_logger_core eirc_ircconn)
