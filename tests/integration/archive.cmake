# eirc-archive (docs/eirc-archive.md).
#
# On the archive the daemons make (InspIRCd, Redis, PostgreSQL, the
# Elasticsearch test server, eirc-auth and an HA pair of eirc-logger): 5,000
# events with a logger killed, verify 0; each tampering in Redis,
# Elasticsearch and PostgreSQL, verify 1 naming event and store; prove and
# check-proof; the trimmed archive (see test_archive_verify.c).
eirc_test(test_archive_verify SOURCES test_archive_verify.c
          LIBS eirc_auth_fixture eirc_logger_fixture eirc_archive eirc::pq eirc::jansson
               eirc::sodium
          LABELS integration TIMEOUT 900)
add_dependencies(test_archive_verify eirc-archive eirc-logger eirc-auth)

# On an archive written here to the contract's layout: the same findings,
# and what the daemons do not make on demand (an audit row changed, a
# retention trim's frontier, the sealer's frontier forged, an auditor's
# checkpoint file, --partition/--from, exit statuses, the archive on a Redis
# Cluster; see test_archive_layout.c).
eirc_test(test_archive_layout SOURCES test_archive_layout.c
          LIBS eirc_logger_fixture eirc_archive eirc::pq eirc::jansson eirc::sodium
          LABELS integration TIMEOUT 600)
add_dependencies(test_archive_layout eirc-archive)
