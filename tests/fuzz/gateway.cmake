# libFuzzer target for eirc-gateway's browser message assembler (the WebSocket
# message to CRLF line rules). Seed corpus in fuzz/corpus/fuzz_gw_frame/.
eirc_fuzz(fuzz_gw_frame SOURCES fuzz/fuzz_gw_frame.c LIBS eirc_gateway_core)
