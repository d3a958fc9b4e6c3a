# history_bench: CHATHISTORY LATEST and BEFORE msgid= latency end to end
# through a real eirc-irc-client, over messages stored with the logger's
# append script (see docs/history.md, "Benchmark").
add_executable(history_bench history_bench.c)
target_include_directories(history_bench PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(history_bench PRIVATE eirc_logger_core eirc_harness eirc_common
                      eirc::hiredis)
# It starts eirc-history and eirc-irc-client from this build tree unless
# EIRC_BUILD_DIR says otherwise.
target_compile_definitions(history_bench PRIVATE EIRC_BENCH_BUILD_DIR="${PROJECT_BINARY_DIR}")
