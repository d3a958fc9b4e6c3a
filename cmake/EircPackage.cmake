# The Debian package (docs/operations.md, "The package"): what `cmake --install`
# puts where, and CPack's DEB generator. scripts/build-deb.sh configures a
# build with -DCMAKE_INSTALL_PREFIX=/usr, no tests and no benches, and runs
# cpack; the layout is then:
#
#   /usr/bin/eirc-{auth,gateway,irc-client,logger,history,config,archive}
#   /usr/sbin/eirc-backup, eirc-restore        (dist/sbin, when present)
#   /usr/share/eirc/web                         the web client
#   /usr/share/eirc/{eirc.yaml,redis-users.acl,nginx-eirc.conf}
#   /usr/share/eirc/inspircd/{inspircd.conf,limits.conf}, prometheus/*.yml
#   /usr/lib/inspircd/modules/m_eirc_*.so       built against inspircd-dev
#   /usr/lib/systemd/system/eirc-*.service
#   /etc/eirc/eirc.yaml                         a conffile
#   /usr/share/doc/eirc                         docs, changelog.Debian.gz
#
# The maintainer scripts (dist/debian) make the users, /etc/eirc/credentials,
# /var/lib/eirc, and check the InspIRCd pin.
include(GNUInstallDirs)

# EIRC_PACKAGE_VERSION: cmake/EircVersion.cmake.

# ---- what is installed ----

foreach(_bin eirc-auth eirc-gateway eirc-irc-client eirc-logger eirc-history eirc-config
              eirc-archive)
  if(TARGET ${_bin})
    install(TARGETS ${_bin} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
# Scripts an operator runs as root (eirc-backup, eirc-restore).
if(EXISTS "${PROJECT_SOURCE_DIR}/dist/sbin")
  install(DIRECTORY dist/sbin/ DESTINATION ${CMAKE_INSTALL_SBINDIR} USE_SOURCE_PERMISSIONS)
endif()
install(DIRECTORY web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/eirc/web)
# Templates and references: eirc-auth setup writes the nginx site and
# /etc/inspircd/inspircd.conf from them.
install(FILES dist/eirc.yaml dist/redis-users.acl DESTINATION ${CMAKE_INSTALL_DATADIR}/eirc)
install(FILES dist/nginx/eirc.conf DESTINATION ${CMAKE_INSTALL_DATADIR}/eirc RENAME nginx-eirc.conf)
install(FILES dist/inspircd/inspircd.conf dist/inspircd/limits.conf
        DESTINATION ${CMAKE_INSTALL_DATADIR}/eirc/inspircd)
# Example Prometheus alert rules on every daemon's metrics.
install(FILES dist/prometheus/eirc-alerts.yml DESTINATION ${CMAKE_INSTALL_DATADIR}/eirc/prometheus)
install(DIRECTORY dist/systemd/ DESTINATION lib/systemd/system FILES_MATCHING PATTERN "*.service")
# The config: a conffile (dist/debian/conffiles), root:eirc 0640 (postinst).
install(FILES dist/eirc.yaml DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/eirc)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Debian's changelog, compressed as Policy 12.7 wants it.
set(_changelog_gz "${PROJECT_BINARY_DIR}/changelog.Debian.gz")
execute_process(COMMAND gzip -9nc "${PROJECT_SOURCE_DIR}/dist/changelog"
                OUTPUT_FILE "${_changelog_gz}" RESULT_VARIABLE _gz_rc)
if(NOT _gz_rc EQUAL 0)
  message(FATAL_ERROR "gzip dist/changelog failed")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/dist/changelog")
install(FILES "${_changelog_gz}" DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- the .deb ----

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME eirc)
set(CPACK_PACKAGE_VERSION "${EIRC_PACKAGE_VERSION}")
set(CPACK_PACKAGE_CONTACT "eIRC maintainers <eirc@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "web chat on IRC with an archive: gateway, auth, logger, history")
set(CPACK_PACKAGE_DESCRIPTION "eIRC serves a web chat client backed by InspIRCd: eirc-auth (OAuth 2.0,\naccounts, audit log), eirc-gateway (WebSocket, one sandboxed IRC process\nper session), eirc-logger (the archive in Redis Streams) and eirc-history\n(CHATHISTORY and the history API), with systemd units, an nginx site and\nthe InspIRCd modules it needs. Run `eirc-auth setup` after installing.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # eirc_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # dpkg-shlibdeps: libuv1, libpq5, ...
set(CPACK_STRIP_FILES ON)
# libwebsockets loads its libuv event loop as a plugin (dlopen), which
# dpkg-shlibdeps cannot see: without it every daemon with a listener fails
# with "unable to load evlib plugin evlib_uv".
set(_depends "adduser, libwebsockets-evlib-uv")
# The InspIRCd modules run inside Debian's InspIRCd and are built against
# its headers: InspIRCd refuses a module built for another version, so the
# package pins the upstream version it was built with; apt then refuses an
# InspIRCd upgrade that would break them (rebuild the package against the
# new inspircd-dev), and postinst refuses a mismatch dpkg was forced past.
if(EIRC_INSPIRCD_VERSION MATCHES "^([0-9]+)\\.([0-9]+)\\.([0-9]+)$")
  math(EXPR _next "${CMAKE_MATCH_3} + 1")
  set(EIRC_INSPIRCD_NEXT "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}.${_next}")
  string(APPEND _depends ", inspircd (>= ${EIRC_INSPIRCD_VERSION}), inspircd (<< ${EIRC_INSPIRCD_NEXT}~)")
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${_depends}")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql, redis-server, nginx")
configure_file(dist/debian/postinst.in ${PROJECT_BINARY_DIR}/debian/postinst @ONLY
               FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                WORLD_READ WORLD_EXECUTE)
foreach(_s preinst prerm postrm conffiles)
  configure_file(dist/debian/${_s} ${PROJECT_BINARY_DIR}/debian/${_s} COPYONLY)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/debian/preinst ${PROJECT_BINARY_DIR}/debian/postinst
    ${PROJECT_BINARY_DIR}/debian/prerm ${PROJECT_BINARY_DIR}/debian/postrm
    ${PROJECT_BINARY_DIR}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGE_DIRECTORY "${PROJECT_BINARY_DIR}/package")
include(CPack)
