# libFuzzer targets for common/ (built with -DEIRC_FUZZ=ON). Seed corpora in
# fuzz/corpus/<target>/, hand-written.
eirc_fuzz(fuzz_irc_msg SOURCES fuzz/fuzz_irc_msg.c LIBS eirc_common)
eirc_fuzz(fuzz_irc_line SOURCES fuzz/fuzz_irc_line.c LIBS eirc_common)
eirc_fuzz(fuzz_chathist SOURCES fuzz/fuzz_chathist.c LIBS eirc_common)
# Redis Cluster routing (common/redis_slot): the key of a formatted command,
# MOVED/ASK errors.
eirc_fuzz(fuzz_redis_slot SOURCES fuzz/fuzz_redis_slot.c LIBS eirc_redis)
# The access bus's messages (common/access_msg).
eirc_fuzz(fuzz_access_msg SOURCES fuzz/fuzz_access_msg.c LIBS eirc_common)
# The NAME=value table of an irc-client's fd 4 (common/vars).
eirc_fuzz(fuzz_vars SOURCES fuzz/fuzz_vars.c LIBS eirc_common)
