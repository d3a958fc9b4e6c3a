# eirc-logger against real InspIRCd and Redis and the Elasticsearch test
# server (tests/es/es_server.py). Needs the eirc-logger binary.
add_library(eirc_logger_fixture STATIC logger_fixture.c)
target_include_directories(eirc_logger_fixture PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(eirc_logger_fixture PUBLIC eirc_harness eirc::hiredis eirc::jansson)

eirc_test(test_logger SOURCES test_logger.c LIBS eirc_logger_fixture
          LABELS integration TIMEOUT 300)
add_dependencies(test_logger eirc-logger)

# 20,000 messages through Redis restart, kill -9 of one of two loggers and
# 30 s of Elasticsearch downtime; compares ids (see test_logger_fault.c).
eirc_test(test_logger_fault SOURCES test_logger_fault.c LIBS eirc_logger_fixture
          LABELS integration TIMEOUT 600)
add_dependencies(test_logger_fault eirc-logger)

# The spill path under a real Redis outage: overflow into the spill file,
# replay in order exactly once (msgids compared), and the loud, counted
# loss when every bound is hit (see test_logger_outage.c).
eirc_test(test_logger_outage SOURCES test_logger_outage.c LIBS eirc_logger_fixture
          LABELS integration TIMEOUT 300)
add_dependencies(test_logger_outage eirc-logger)
