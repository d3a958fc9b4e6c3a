# EIRC_PACKAGE_VERSION, the version of the Debian package (and, with
# -DEIRC_VERSION_FROM_GIT=ON as scripts/build-deb.sh sets, of every
# binary's --version): `git describe --tags --match 'v*'` of the source tree
# (v1.2.0 -> 1.2.0; three commits later -> 1.2.0+git3.gabc1234, which sorts
# after 1.2.0 and before 1.2.1), else PROJECT_VERSION.
set(EIRC_PACKAGE_VERSION "${PROJECT_VERSION}")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${PROJECT_SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" describe --tags --match "v*"
                  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                  OUTPUT_VARIABLE _describe OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _describe_rc ERROR_QUIET)
  if(_describe_rc EQUAL 0 AND _describe MATCHES "^v([0-9][0-9.]*[0-9a-z.~]*)(-([0-9]+)-(g[0-9a-f]+))?$")
    set(EIRC_PACKAGE_VERSION "${CMAKE_MATCH_1}")
    if(CMAKE_MATCH_3)
      string(APPEND EIRC_PACKAGE_VERSION "+git${CMAKE_MATCH_3}.${CMAKE_MATCH_4}")
    endif()
  endif()
endif()
option(EIRC_VERSION_FROM_GIT "--version of the binaries from git describe (the package's)" OFF)
if(EIRC_VERSION_FROM_GIT)
  set(EIRC_VERSION "${EIRC_PACKAGE_VERSION}")
else() # a version that changes with every commit would rebuild everything
  set(EIRC_VERSION "${PROJECT_VERSION}")
endif()
