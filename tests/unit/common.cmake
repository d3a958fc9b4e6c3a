# Unit tests of common/ (IRC codec, line framer, UTF-8, case mapping, masks)
# and of the test harness's YAML reader. test_irc_vectors reads the public
# parser vectors from ../shared/testdata at run time and skips without them.
eirc_test(test_irc_vectors SOURCES unit/test_irc_vectors.c LIBS eirc_common eirc_testlib)
eirc_test(test_irc_msg SOURCES unit/test_irc_msg.c LIBS eirc_common eirc_testlib)
eirc_test(test_irc_line SOURCES unit/test_irc_line.c LIBS eirc_common eirc_testlib)
eirc_test(test_utf8 SOURCES unit/test_utf8.c LIBS eirc_common eirc_testlib)
eirc_test(test_irc_casemap SOURCES unit/test_irc_casemap.c LIBS eirc_common eirc_testlib)
eirc_test(test_irc_mask SOURCES unit/test_irc_mask.c LIBS eirc_common eirc_testlib)
eirc_test(test_chathist SOURCES unit/test_chathist.c LIBS eirc_common eirc_testlib)
eirc_test(test_yamltree SOURCES unit/test_yamltree.c LIBS eirc_testlib)
eirc_test(test_primitives SOURCES unit/test_primitives.c LIBS eirc_common eirc_testlib)
# common/daemon: the shared command line and run, with hooks, no servers.
eirc_test(test_daemon SOURCES unit/test_daemon.c LIBS eirc_daemon eirc_testlib)
# Redis Cluster routing, the pure half (common/redis_slot).
eirc_test(test_redis_slot SOURCES unit/test_redis_slot.c LIBS eirc_redis eirc_archive)
# common/http_server on loopback: each limit at and one past, a chunked
# stream, a close with connections open (uv_loop_close() == 0 after).
find_package(Threads REQUIRED)
eirc_test(test_http_server SOURCES unit/test_http_server.c LIBS eirc_http_server Threads::Threads)
# The access bus's message parser (common/access_msg).
eirc_test(test_access_msg SOURCES unit/test_access_msg.c LIBS eirc_common eirc_testlib)
# The daemons' Redis ACL lines (common/redis_acl): limits, key patterns.
eirc_test(test_redis_acl_lines SOURCES unit/test_redis_acl_lines.c LIBS eirc_common eirc_testlib)
# The eviction policy of an INFO memory answer (common/redis_evict).
eirc_test(test_redis_evict SOURCES unit/test_redis_evict.c LIBS eirc_common eirc_testlib)
# The NAME=value table of an irc-client's fd 4 (common/vars).
eirc_test(test_vars SOURCES unit/test_vars.c LIBS eirc_common eirc_testlib)
# A ${NAME}'s value: the environment, then $CREDENTIALS_DIRECTORY (common/cred).
eirc_test(test_cred SOURCES unit/test_cred.c LIBS eirc_common)
# systemd's NOTIFY_SOCKET datagram (common/notify).
eirc_test(test_notify SOURCES unit/test_notify.c LIBS eirc_common)
# The history socket's session tickets (common/session_ticket).
eirc_test(test_session_ticket SOURCES unit/test_session_ticket.c LIBS eirc_session_ticket)
# The tamper-evident log's core (archive/tlog): RFC 6962 vectors, the RFC's
# recursive definition, proofs over trimmed logs, signed-note keys.
eirc_test(test_tlog SOURCES unit/test_tlog.c LIBS eirc_archive eirc::sodium)
