# Helpers shared by every subdirectory.

# eirc_library(<name> SOURCES <src...> [LIBS <public lib...>]
#              [PRIVATE_LIBS <lib...>]): a static library of the tree. Its
# headers are included as "<folder>/<file>.h" from the source root, so
# every user sees the same paths.
function(eirc_library name)
  cmake_parse_arguments(L "" "" "SOURCES;LIBS;PRIVATE_LIBS" ${ARGN})
  add_library(${name} STATIC ${L_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  if(L_LIBS)
    target_link_libraries(${name} PUBLIC ${L_LIBS})
  endif()
  if(L_PRIVATE_LIBS)
    target_link_libraries(${name} PRIVATE ${L_PRIVATE_LIBS})
  endif()
endfunction()

# eirc_test(<name> SOURCES <src...> LIBS <lib...> [LABELS <label...>]
#                [TIMEOUT <seconds>])
# A cmocka test executable registered with CTest, run from the source tree
# so tests can find ../shared/ test data. Label "unit" unless told otherwise.
function(eirc_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} eirc::cmocka)
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "EIRC_SOURCE_DIR=${PROJECT_SOURCE_DIR};EIRC_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# eirc_fuzz(<name> SOURCES <src...> LIBS <lib...>): a libFuzzer target,
# built only with -DEIRC_FUZZ=ON. Its corpus lives in tests/fuzz/corpus/<name>/.
function(eirc_fuzz name)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT EIRC_FUZZ)
    return()
  endif()
  add_executable(${name} ${F_SOURCES})
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  # All fuzz targets in one folder, where scripts/test.sh looks for them.
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz)
  set_property(GLOBAL APPEND PROPERTY EIRC_FUZZ_TARGETS ${name})
endfunction()
