# eirc-logger against real InspIRCd and Redis and the Elasticsearch test
# server (tests/es/es_server.py). Needs the eirc-logger binary.
add_library(eirc_logger_fixture STATIC logger_fixture.c)
target_include_directories(eirc_logger_fixture PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(eirc_logger_fixture PUBLIC eirc_harness eirc_common eirc_archive eirc::hiredis
                      eirc::jansson)

eirc_test(test_logger SOURCES test_logger.c LIBS eirc_logger_fixture
          LABELS integration TIMEOUT 300)
add_dependencies(test_logger eirc-logger)

# 20,000 messages through Redis restart, kill -9 of one of two loggers and
# 30 s of Elasticsearch downtime; compares ids (see test_logger_fault.c).
eirc_test(test_logger_fault SOURCES test_logger_fault.c LIBS eirc_logger_fixture eirc::sodium
          LABELS integration TIMEOUT 600)
add_dependencies(test_logger_fault eirc-logger)

# The spill path under a real Redis outage: overflow into the spill file,
# replay in order exactly once (msgids compared), and the loud, counted
# loss when every bound is hit (see test_logger_outage.c).
eirc_test(test_logger_outage SOURCES test_logger_outage.c LIBS eirc_logger_fixture
          LABELS integration TIMEOUT 300)
add_dependencies(test_logger_outage eirc-logger)

# The streams, in process against a real Redis and the ES test server:
# history trimming by retention (MINID ~), archive trimming only below what
# every consumer group acknowledged, and a dead consumer's pending entries
# claimed (XAUTOCLAIM) and shipped once (see test_logger_stream.c).
eirc_test(test_logger_stream SOURCES test_logger_stream.c
          LIBS eirc_logger_fixture eirc_logger_io eirc::jansson
          LABELS integration TIMEOUT 300)

# The sealer (issue 17): an HA pair on real Redis and InspIRCd, every
# partition's log recomputed from the archive with archive/tlog.h: leaves
# in order, one log, signed checkpoints opened with the public key, forged
# entries refused, the state kept across kills and restarts (see
# test_logger_seal.c).
eirc_test(test_logger_seal SOURCES test_logger_seal.c
          LIBS eirc_logger_fixture eirc_archive eirc::sodium LABELS integration TIMEOUT 300)
add_dependencies(test_logger_seal eirc-logger)

# Redis bounded (issue 24, item 7): without Elasticsearch the archive streams
# trimmed to logger.archive_retention and held there under writes (the
# daemon, and in process with a 1.5 s retention), /metrics of the archive;
# eirc-logger and eirc-history refuse a Redis whose maxmemory-policy can
# evict (see test_logger_bound.c).
eirc_test(test_logger_bound SOURCES test_logger_bound.c
          LIBS eirc_logger_fixture eirc_logger_io LABELS integration TIMEOUT 300)
add_dependencies(test_logger_bound eirc-logger eirc-history)

# The archive's trimming kept verifiable (issue 17): only at checkpoint
# boundaries, tombstones whose frontier matches the signed checkpoint,
# retention and shipped trims, two trimmers racing trim once, and the same
# under writes with the real writer and sealer, and an eirc-logger HA pair
# with archive_retention 10s (see test_archive_trim.c).
eirc_test(test_archive_trim SOURCES test_archive_trim.c
          LIBS eirc_logger_fixture eirc_logger_io LABELS integration TIMEOUT 300)
add_dependencies(test_archive_trim eirc-logger)

# A trimmed archive still verifies: eirc-logger (signing key,
# archive_retention 10s) seals and trims, eirc-auth files the checkpoints,
# eirc-archive verify exits 0, and 1 once a tombstone is deleted (see
# test_archive_trim_verify.c).
eirc_test(test_archive_trim_verify SOURCES test_archive_trim_verify.c
          LIBS eirc_auth_fixture eirc_logger_fixture eirc_archive eirc::hiredis eirc::sodium
          LABELS integration TIMEOUT 300)
add_dependencies(test_archive_trim_verify eirc-auth eirc-logger eirc-archive)

# Gaps across a restart of the process: kill -9 and start again, the gap
# event covers the time between (see test_logger_restart.c).
eirc_test(test_logger_restart SOURCES test_logger_restart.c
          LIBS eirc_logger_fixture eirc_logger_core LABELS integration TIMEOUT 300)
add_dependencies(test_logger_restart eirc-logger)

# Two linked InspIRCd servers, one logger on each: membership events (no
# msgid, per-server time) stored once, or twice only across a second
# boundary (see test_logger_linked.c).
eirc_test(test_logger_linked SOURCES test_logger_linked.c LIBS eirc_logger_fixture
          LABELS integration TIMEOUT 300)
add_dependencies(test_logger_linked eirc-logger)

# eirc-logger and eirc-history on a real three-master Redis Cluster: keys on
# the masters that own their slots, each message once, history answers, a
# slot migrated while messages flow (see test_redis_cluster.c).
eirc_test(test_redis_cluster SOURCES test_redis_cluster.c
          LIBS eirc_logger_fixture eirc_logger_core eirc_redis eirc::jansson eirc::sodium
          LABELS integration TIMEOUT 400)
add_dependencies(test_redis_cluster eirc-logger eirc-history eirc-irc-client)

# Capture through eIRC (issue 25): InspIRCd with m_eirc_capture (require
# yes) and m_eirc_account, the logger as capture bot in a channel nobody
# configured, eirc-history, eirc-auth and eirc-gateway with two browser
# sessions: every message form archived once (PRIVMSG, ACTION, NOTICE,
# TAGMSG, STATUSMSG @#c and +#c, a direct message), STATUSMSG replayed only
# to its sender, and with the logger stopped every message refused with
# FAIL ... ARCHIVE_UNAVAILABLE and delivered to nobody, and the same while
# a logger that cannot archive (Redis down, spill full) is AWAY (see
# test_logger_capture.c).
eirc_test(test_logger_capture SOURCES test_logger_capture.c
          LIBS eirc_gateway_fixture eirc_logger_fixture eirc_logger_core
          LABELS integration TIMEOUT 300)
add_dependencies(test_logger_capture eirc-irc-client eirc-auth eirc-logger eirc-history)
if(TARGET eirc-gateway)
  add_dependencies(test_logger_capture eirc-gateway)
endif()

# m_eirc_capture in real InspIRCd (one server, one with require="yes", a
# linked pair) with raw clients: capture bots joined everywhere, never
# removed, STATUSMSG and direct-message copies, refusals while nothing
# archives; eirc-logger with logger.irc_password is one (see
# test_capture.c).
eirc_test(test_capture SOURCES test_capture.c LIBS eirc_logger_fixture eirc_testclient
          LABELS integration TIMEOUT 300)
add_dependencies(test_capture eirc-logger)
