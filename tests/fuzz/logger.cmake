# libFuzzer target for eirc-logger's _bulk response walker and spill file
# reader (-DEIRC_FUZZ=ON).
eirc_fuzz(fuzz_logger_bulk SOURCES fuzz/fuzz_logger_bulk.c LIBS eirc_logger_core)
# Redis Cluster routing: the key of a formatted command, MOVED/ASK errors.
eirc_fuzz(fuzz_logger_rslot SOURCES fuzz/fuzz_logger_rslot.c LIBS eirc_logger_core)
