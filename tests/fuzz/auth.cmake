# libFuzzer target for eirc-auth's request parsing (-DEIRC_FUZZ=ON).
eirc_fuzz(fuzz_auth_request SOURCES fuzz/fuzz_auth_request.c LIBS eirc_auth_core)
