# EIRC_PACKAGE_VERSION, the version of the Debian package (and, with
# -DEIRC_VERSION_FROM_GIT=ON as scripts/build-deb.sh sets, of every
# binary's --version).
#
# The top entry of dist/changelog is the tree's version: "0.1.0" at a
# release (the commit tagged v0.1.0, listed in dist/releases), "0.2.0~dev"
# between releases (~ sorts before 0.2.0, after 0.1.0). A tree in git that
# is not the tagged release gets "+git<commits>.g<hash>", so that every
# commit of main sorts after the one before it. A tree without .git (a
# `git archive` of a release) is its changelog's version exactly.
file(STRINGS "${PROJECT_SOURCE_DIR}/dist/changelog" _top LIMIT_COUNT 1)
if(NOT _top MATCHES "^eirc \\(([0-9][0-9a-z.~+]*)\\) ")
  message(FATAL_ERROR "dist/changelog: the first line is not 'eirc (VERSION) ...': ${_top}")
endif()
set(EIRC_CHANGELOG_VERSION "${CMAKE_MATCH_1}")
string(REGEX MATCH "^[0-9]+\\.[0-9]+\\.[0-9]+" _base "${EIRC_CHANGELOG_VERSION}")
if(NOT _base VERSION_EQUAL PROJECT_VERSION)
  message(FATAL_ERROR "dist/changelog says ${EIRC_CHANGELOG_VERSION}, project() says "
                      "${PROJECT_VERSION}: change both when a version starts")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/dist/changelog")
set(EIRC_PACKAGE_VERSION "${EIRC_CHANGELOG_VERSION}")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${PROJECT_SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" describe --tags --exact-match --match "v*" HEAD
                  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                  OUTPUT_VARIABLE _tag OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _tag_rc ERROR_QUIET)
  if(NOT (_tag_rc EQUAL 0 AND _tag STREQUAL "v${EIRC_CHANGELOG_VERSION}"))
    execute_process(COMMAND "${GIT_EXECUTABLE}" rev-list --count HEAD
                    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                    OUTPUT_VARIABLE _count OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=8 HEAD
                    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                    OUTPUT_VARIABLE _hash OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(_count MATCHES "^[0-9]+$" AND _hash MATCHES "^[0-9a-f]+$")
      string(APPEND EIRC_PACKAGE_VERSION "+git${_count}.g${_hash}")
    endif()
  endif()
endif()
option(EIRC_VERSION_FROM_GIT "--version of the binaries from git describe (the package's)" OFF)
if(EIRC_VERSION_FROM_GIT)
  set(EIRC_VERSION "${EIRC_PACKAGE_VERSION}")
else() # a version that changes with every commit would rebuild everything
  set(EIRC_VERSION "${PROJECT_VERSION}")
endif()
