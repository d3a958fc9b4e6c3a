# libFuzzer target for eirc-logger's _bulk response walker and spill file
# reader (-DEIRC_FUZZ=ON).
eirc_fuzz(fuzz_logger_bulk SOURCES fuzz/fuzz_logger_bulk.c LIBS eirc_logger_core)
