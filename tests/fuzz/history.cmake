# libFuzzer target for eirc-history's request parser and the script call
# builder it feeds. Seed corpus in fuzz/corpus/fuzz_hist_req/.
eirc_fuzz(fuzz_hist_req SOURCES fuzz/fuzz_hist_req.c LIBS eirc_history_core)
# libFuzzer target for eirc-history's HTTP API checks (path, room, limit,
# cursor, token, time, stored entry as JSON). Seed corpus in
# fuzz/corpus/fuzz_hist_api/.
eirc_fuzz(fuzz_hist_api SOURCES fuzz/fuzz_hist_api.c LIBS eirc_history_core)
