# libFuzzer target of config/ (built with -DEIRC_FUZZ=ON); corpus in
# tests/fuzz/corpus/fuzz_config/.
eirc_fuzz(fuzz_config SOURCES fuzz/fuzz_config.c LIBS eirc_config)
