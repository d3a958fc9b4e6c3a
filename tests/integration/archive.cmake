# eirc-archive (docs/eirc-archive.md) against real Redis and PostgreSQL and
# the Elasticsearch test server: verify exits 0 on an intact archive and 1,
# naming event and store, after each tampering; prove and check-proof.
eirc_test(test_archive_verify SOURCES test_archive_verify.c
          LIBS eirc_logger_fixture eirc_archive eirc::pq eirc::jansson eirc::sodium
          LABELS integration TIMEOUT 600)
add_dependencies(test_archive_verify eirc-archive)
