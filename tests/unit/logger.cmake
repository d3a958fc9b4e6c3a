# Unit tests of eirc-logger's pure library (see logger-bot/CMakeLists.txt).
eirc_test(test_logger_core SOURCES unit/test_logger_core.c LIBS eirc_logger_core)
eirc_test(test_logger_spill SOURCES unit/test_logger_spill.c LIBS eirc_logger_core)
eirc_test(test_logger_bulk SOURCES unit/test_logger_bulk.c LIBS eirc_logger_core)
eirc_test(test_logger_ingest SOURCES unit/test_logger_ingest.c LIBS eirc_logger_core)
