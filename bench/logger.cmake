# logger_bench: the append script's ceiling (redis-benchmark, EVALSHA,
# pipelined, AOF on), the logger writer's ingest rate fed directly, and the
# shipper's rate, in one run (see docs/logger.md, "Benchmark").
add_executable(logger_bench logger_bench.c
  ${PROJECT_SOURCE_DIR}/tests/integration/logger_fixture.c)
target_include_directories(logger_bench PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(logger_bench PRIVATE eirc_logger_io eirc_harness eirc::hiredis)
# "logger_bench irc" starts eirc-logger from this build tree unless
# EIRC_BUILD_DIR says otherwise.
target_compile_definitions(logger_bench PRIVATE EIRC_BENCH_BUILD_DIR="${PROJECT_BINARY_DIR}")

# archive_bench: the tamper-evident archive at scale (docs/compliance.md,
# "Benchmark"): N events appended with seal records, sealed by a real
# eirc-logger, checkpoints filed by a real eirc-auth, then eirc-archive
# verify over them.
add_executable(archive_bench archive_bench.c)
target_include_directories(archive_bench PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(archive_bench PRIVATE eirc_auth_fixture eirc_logger_fixture eirc_archive
                      eirc::hiredis eirc::sodium)
target_compile_definitions(archive_bench PRIVATE EIRC_BENCH_BUILD_DIR="${PROJECT_BINARY_DIR}")
add_dependencies(archive_bench eirc-auth eirc-logger eirc-archive)
