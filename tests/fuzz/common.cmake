# libFuzzer targets for common/ (built with -DEIRC_FUZZ=ON). Seed corpora in
# fuzz/corpus/<target>/, hand-written.
eirc_fuzz(fuzz_irc_msg SOURCES fuzz/fuzz_irc_msg.c LIBS eirc_common)
eirc_fuzz(fuzz_irc_line SOURCES fuzz/fuzz_irc_line.c LIBS eirc_common)
eirc_fuzz(fuzz_chathist SOURCES fuzz/fuzz_chathist.c LIBS eirc_common)
