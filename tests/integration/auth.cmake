# eirc-auth against a real PostgreSQL and the real eirc-auth binary.
add_library(eirc_auth_fixture STATIC auth_fixture.c)
target_link_libraries(eirc_auth_fixture PUBLIC eirc_harness
                      eirc::pq eirc::jansson)
target_include_directories(eirc_auth_fixture PUBLIC ${PROJECT_SOURCE_DIR})

foreach(_t test_auth_oauth test_auth_abuse test_auth_migrate test_auth_tls
           test_auth_limits test_auth_probes)
  eirc_test(${_t} SOURCES ${_t}.c LIBS eirc_auth_fixture
            LABELS integration TIMEOUT 300)
  add_dependencies(${_t} eirc-auth)
endforeach()

# issue 22: the private-room rule, the access bus (a real Redis), the
# access check and the chat token's family
eirc_test(test_auth_access SOURCES test_auth_access.c LIBS eirc_auth_fixture eirc::hiredis
          LABELS integration TIMEOUT 300)
add_dependencies(test_auth_access eirc-auth)

# issue 25, contract C3: InspIRCd's m_eirc_account, refuse mode and
# authenticated mode against a real PostgreSQL migrated by eirc-auth.
eirc_test(test_account SOURCES test_account.c
          LIBS eirc_auth_fixture eirc_logger_fixture eirc_testclient
          LABELS integration TIMEOUT 300)
add_dependencies(test_account eirc-auth eirc-logger)

# issue 24, contract D6: dist/sbin/eirc-backup and eirc-restore against a
# real PostgreSQL, Redis and eirc-auth (root only; skipped otherwise).
eirc_test(test_backup SOURCES test_backup.c LIBS eirc_auth_fixture eirc::hiredis
          LABELS integration TIMEOUT 600)
add_dependencies(test_backup eirc-auth eirc-config)

# issue 24, D3: `eirc-auth setup` on a real PostgreSQL, its files under a
# throwaway --root (no systemctl): secrets, roles, database, migrations,
# first accounts, OAuth client, InspIRCd/nginx/Redis files; a second run
# changes nothing.
eirc_test(test_auth_setup SOURCES test_auth_setup.c LIBS eirc_harness eirc_archive eirc::pq
          LABELS integration TIMEOUT 300)
add_dependencies(test_auth_setup eirc-auth)

# issue 17 (integrity): checkpoints filed from eirc:{cp}:checkpoints (once,
# refused, forks), archive_checkpoints append-only, the audit log's seq and
# tree checkpointed, /.well-known/eirc-archive-key; a real PostgreSQL and Redis.
eirc_test(test_auth_integrity SOURCES test_auth_integrity.c
          LIBS eirc_auth_fixture eirc_archive eirc::hiredis eirc::sodium
          LABELS integration TIMEOUT 300)
add_dependencies(test_auth_integrity eirc-auth eirc-archive)

# issue 17 end to end: a real eirc-logger's sealer (InspIRCd, Redis) signs,
# eirc-auth files every checkpoint, eirc-archive verify finds both logs intact.
eirc_test(test_auth_sealed SOURCES test_auth_sealed.c
          LIBS eirc_auth_fixture eirc_logger_fixture eirc_archive eirc::hiredis eirc::sodium
          LABELS integration TIMEOUT 300)
add_dependencies(test_auth_sealed eirc-auth eirc-logger eirc-archive)
