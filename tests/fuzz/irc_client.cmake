# libFuzzer target for eirc-irc-client's browser-side parsing: the strict
# CRLF framing of common/irc_line, the client-flag parse, the policy table
# and the CHATHISTORY checks. Seed corpus in fuzz/corpus/fuzz_ircc_policy/.
eirc_fuzz(fuzz_ircc_policy SOURCES fuzz/fuzz_ircc_policy.c LIBS eirc_ircclient)
