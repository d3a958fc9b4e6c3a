# Unit tests of eirc-history's pure library (see history-bridge/CMakeLists.txt).
eirc_test(test_history_req SOURCES unit/test_history_req.c LIBS eirc_history_core)
eirc_test(test_history_api SOURCES unit/test_history_api.c LIBS eirc_history_core)
