# Every external library is found with pkg-config. A missing one stops the
# configure step with the Debian package that provides it, so a new machine
# is one `apt-get install` (or scripts/install-deps.sh) away from building.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config "
                      "(or run scripts/install-deps.sh)")
endif()

# eirc_dep(<target-suffix> <pkg-config module> <debian package> [MIN version])
# defines the imported target eirc::<target-suffix>.
function(eirc_dep name module debpkg)
  cmake_parse_arguments(D "" "MIN" "" ${ARGN})
  set(spec "${module}")
  if(D_MIN)
    set(spec "${module}>=${D_MIN}")
  endif()
  pkg_check_modules(EIRC_DEP_${name} QUIET IMPORTED_TARGET GLOBAL "${spec}")
  if(NOT EIRC_DEP_${name}_FOUND)
    message(FATAL_ERROR "Missing dependency ${spec}: install the Debian package "
                        "'${debpkg}' (apt-get install ${debpkg}), or run "
                        "scripts/install-deps.sh")
  endif()
  add_library(eirc::${name} ALIAS PkgConfig::EIRC_DEP_${name})
  message(STATUS "eirc: ${module} ${EIRC_DEP_${name}_VERSION}")
endfunction()

eirc_dep(uv         libuv         libuv1-dev          MIN 1.44)
eirc_dep(websockets libwebsockets libwebsockets-dev   MIN 4.1)
eirc_dep(hiredis    hiredis       libhiredis-dev      MIN 0.14)
eirc_dep(pq         libpq         libpq-dev)
eirc_dep(yaml       yaml-0.1      libyaml-dev)
eirc_dep(curl       libcurl       libcurl4-openssl-dev)
eirc_dep(sodium     libsodium     libsodium-dev)
eirc_dep(seccomp    libseccomp    libseccomp-dev)
eirc_dep(jansson    jansson       libjansson-dev)
eirc_dep(ssl        openssl       libssl-dev)
if(EIRC_TESTS)
  eirc_dep(cmocka   cmocka        libcmocka-dev)
endif()
